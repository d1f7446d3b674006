import { Kind, type TSchema } from '@sinclair/typebox';

/**
 * Fills defaults from a schema into a value, in place: missing object properties
 * take their `default`, then every object, record value and array item is walked.
 * (TypeBox's Value.Default leaves record values alone, and listener blocks are records.)
 */
export function fillDefaults<T>(schema: TSchema, value: T): T {
  walk(schema, value);
  return value;
}

function walk(schema: TSchema, value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  const kind = schema[Kind] as string | undefined;
  if (kind === 'Object' && !Array.isArray(value)) {
    const target = value as Record<string, unknown>;
    const { properties: props, required = [] } = schema as unknown as { properties: Record<string, TSchema>; required?: string[] };
    for (const [key, propSchema] of Object.entries(props)) {
      // Optional properties stay absent: a default there only documents the runtime value.
      if (target[key] === undefined && 'default' in propSchema && required.includes(key)) target[key] = structuredClone(propSchema.default as unknown);
      if (target[key] !== undefined) walk(propSchema, target[key]);
    }
    return;
  }
  if (kind === 'Record' && !Array.isArray(value)) {
    const pattern = (schema as unknown as { patternProperties: Record<string, TSchema> }).patternProperties;
    const valueSchema = Object.values(pattern)[0];
    if (!valueSchema) return;
    for (const v of Object.values(value as Record<string, unknown>)) walk(valueSchema, v);
    return;
  }
  if (kind === 'Array' && Array.isArray(value)) {
    const items = (schema as unknown as { items: TSchema }).items;
    for (const v of value) walk(items, v);
    return;
  }
  if (kind === 'Union') {
    // Fill from the first object member when the value is an object (authentication = {...} | [...]).
    const members = (schema as unknown as { anyOf: TSchema[] }).anyOf;
    const match = members.find((m) => (Array.isArray(value) ? m[Kind] === 'Array' : m[Kind] === 'Object'));
    if (match) walk(match, value);
  }
}
