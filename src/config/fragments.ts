import { Kind, Type, type TObject, type TProperties, type TSchema } from '@sinclair/typebox';
import { SecretFields } from '../secrets.js';
import { fillDefaults } from './defaults.js';
import { schemaProblems, type ConfigProblem } from './load.js';

/**
 * One type of a pluggable part (an authenticator type, an authorization source type): the
 * fragment of the schema it owns, in its own folder.
 */
export interface SchemaFragment {
  /** The whole block of this type, its discriminator fields included. */
  readonly schema: TObject;
  /** Fields whose values are secrets: masked in API answers, logs and validation messages. */
  readonly secretFields?: readonly string[];
}

/** JSON Schema keywords the management API and its OpenAPI document read on assembled schemas. */
export const DISCRIMINATOR = 'x-discriminator';
/** On a request body assembled from fragments: the part the route itself checks (see `requestForm`). */
export const ROUTING = 'x-routing';

/**
 * The types of one pluggable part, told apart by the values of their discriminator fields
 * (`mechanism` + `backend` for authenticators, `type` for authorization sources). An
 * instance is made in the composition root (`src/main.ts`) with one `register` line per
 * type; nothing registers itself on import. The configuration checks, the API's request
 * and answer schemas and the OpenAPI document are assembled from what was registered.
 */
export class FragmentRegistry<F extends SchemaFragment> {
  private readonly types = new Map<string, { fragment: F; secrets: SecretFields }>();
  /** The schemas assembled from the registered fragments; made again after a `register`. */
  private assembled: { body: TSchema; view: Map<string, TSchema> } | undefined;

  constructor(
    /** How messages name one block: `authenticator`, `authorization source`. */
    readonly part: string,
    /** The fields whose values pick the type, most general first. */
    readonly discriminators: readonly string[],
  ) {}

  /** The id of a block or a fragment: its discriminator values joined by `:`, absent ones left out. */
  idOf(block: object): string {
    const values = block as Record<string, unknown>;
    return this.discriminators
      .map((d) => values[d])
      .filter((v): v is string => typeof v === 'string' && v !== '')
      .join(':');
  }

  /** Adds a type; a second type with the same id is a programming error. */
  register(fragment: F): this {
    const id = this.idOf(fragment);
    if (!id) throw new Error(`a ${this.part} type needs ${this.discriminators[0]}`);
    if (this.types.has(id)) throw new Error(`${this.part} type ${id} is registered twice`);
    this.types.set(id, { fragment, secrets: new SecretFields(fragment.secretFields ?? []) });
    this.assembled = undefined;
    return this;
  }

  get(id: string): F | undefined {
    return this.types.get(id)?.fragment;
  }

  /** Every registered id, sorted. */
  ids(): string[] {
    return [...this.types.keys()].sort();
  }

  /** Every type's secret fields, for the node's one `SecretFields`. */
  secretFields(): string[] {
    return [...new Set([...this.types.values()].flatMap((t) => t.fragment.secretFields ?? []))];
  }

  /**
   * Validates one block against its type's fragment, filling the fragment's defaults in place
   * (they become part of the configuration, as the root schema's do). An unknown type is
   * reported on the first discriminator that no registered type shares, with the known ids.
   */
  blockProblems(path: string, block: Record<string, unknown>): { fragment?: F; problems: ConfigProblem[] } {
    const id = this.idOf(block);
    const known = this.types.get(id);
    if (!known) {
      const values = this.discriminators.map((d) => block[d]);
      let matched = 0;
      while (matched < this.discriminators.length - 1 && this.ids().some((k) => k.split(':').slice(0, matched + 1).join(':') === values.slice(0, matched + 1).join(':'))) matched++;
      return {
        problems: [{ path: `${path}.${this.discriminators[matched]}`, message: `unknown ${this.part} ${JSON.stringify(id)}; available: ${this.ids().join(', ')}` }],
      };
    }
    fillDefaults(known.fragment.schema, block);
    return { fragment: known.fragment, problems: schemaProblems(known.fragment.schema, block, path, known.secrets) };
  }

  /**
   * A request body: one of the registered fragments (`oneOf`, with the discriminator fields
   * named). The route checks only the routing part (`ROUTING`): the whole block is validated
   * when the node applies the change, with the rest of the configuration.
   */
  bodySchema(): TSchema {
    this.assembled ??= { body: this.assembleBody(), view: new Map() };
    return this.assembled.body;
  }

  /**
   * An answer: the block of its type with `extra` fields, every undeclared field dropped by
   * the serializer (`viewForm`). The type is chosen by `if`/`then` on the discriminator
   * values, so a block carrying a field its fragment does not declare still matches its type
   * (and loses the field) instead of matching none.
   */
  viewSchema(extra: TProperties = {}): TSchema {
    this.assembled ??= { body: this.assembleBody(), view: new Map() };
    const key = Object.keys(extra).join(',');
    let view = this.assembled.view.get(key);
    if (!view) {
      view = this.assembleView(extra);
      this.assembled.view.set(key, view);
    }
    return view;
  }

  /** The fields the route checks: the first discriminator required, the others optional, anything else left to the fragment. */
  private routing(): TObject {
    const [first, ...rest] = this.discriminators;
    const props: TProperties = { [first!]: Type.String({ minLength: 1 }) };
    for (const d of rest) props[d] = Type.Optional(Type.String({ minLength: 1 }));
    return Type.Object(props, { additionalProperties: true });
  }

  private assembleBody(): TSchema {
    const members = [...this.types.values()].map((t) => t.fragment.schema);
    return Type.Unsafe<Record<string, unknown>>({
      oneOf: members,
      [DISCRIMINATOR]: { propertyNames: this.discriminators },
      [ROUTING]: this.routing(),
    });
  }

  private assembleView(extra: TProperties): TSchema {
    // Types with more discriminator values first: `password_based:http` before a bare `jwt`.
    const types = [...this.types.entries()].sort((a, b) => b[0].split(':').length - a[0].split(':').length);
    let chain: Record<string, unknown> = viewForm(Type.Object({ ...extra, ...this.routing().properties }));
    for (const [id, { fragment }] of types.reverse()) {
      const values = id.split(':');
      const when: TProperties = {};
      values.forEach((v, i) => (when[this.discriminators[i]!] = Type.Literal(v)));
      chain = {
        if: { type: 'object', properties: when, required: Object.keys(when) },
        then: viewForm(Type.Object({ ...extra, ...fragment.schema.properties })),
        else: chain,
      };
    }
    return Type.Unsafe<Record<string, unknown>>({ ...chain, [DISCRIMINATOR]: { propertyNames: this.discriminators } });
  }
}

/** Keywords that constrain values a request sends; an answer's schema only says what is there. */
const CONSTRAINTS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'format', 'required', 'default'];

/**
 * The answer form of a schema: every object closed (`additionalProperties: false`, so the
 * serializer drops what is not declared and a secret field nobody declared cannot leave),
 * every field optional, and no constraint on values (an answer shows what is stored). A
 * choice between object shapes (`anyOf`) is made by `if`/`then` on the fields each shape
 * fixes (`name: "bcrypt"`), so a value with an undeclared field still finds its shape and
 * loses the field, where `anyOf` would match no shape and fail the answer.
 */
export function viewForm(schema: TSchema): TSchema {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    const source = node as Record<string | symbol, unknown>;
    const out: Record<string | symbol, unknown> = {};
    for (const key of Reflect.ownKeys(source)) {
      if (typeof key === 'string' && CONSTRAINTS.includes(key)) continue;
      const value = source[key];
      out[key] = key === 'properties' || key === 'patternProperties' ? mapValues(value as Record<string, unknown>, walk) : walk(value);
    }
    if (out['type'] === 'object' || source[Kind] === 'Object') out['additionalProperties'] = false;
    const shapes = out['anyOf'];
    if (Array.isArray(shapes) && shapes.length > 0 && shapes.every((m) => (m as Record<string, unknown>)['type'] === 'object')) {
      const { anyOf: _choice, ...rest } = out;
      return { ...rest, ...chooseShape(shapes as Array<Record<string, unknown>>) };
    }
    return out;
  };
  return walk(schema) as TSchema;
}

/** `if`/`then` over object shapes by the fields each one fixes; no match answers an empty object. */
function chooseShape(shapes: Array<Record<string, unknown>>): Record<string, unknown> {
  let chain: Record<string, unknown> = { type: 'object', properties: {}, additionalProperties: false };
  for (const shape of [...shapes].reverse()) {
    const fixed: Record<string, unknown> = {};
    for (const [key, prop] of Object.entries((shape['properties'] ?? {}) as Record<string, Record<string, unknown>>)) {
      const values = 'const' in prop ? [prop['const']] : Array.isArray(prop['anyOf']) && prop['anyOf'].every((v) => 'const' in (v as object)) ? (prop['anyOf'] as Array<{ const: unknown }>).map((v) => v.const) : undefined;
      if (values) fixed[key] = { enum: values };
    }
    chain = { if: { type: 'object', properties: fixed, required: Object.keys(fixed) }, then: shape, else: chain };
  }
  return chain;
}

function mapValues(record: Record<string, unknown>, fn: (v: unknown) => unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) out[k] = fn(v);
  return out;
}
