import { Type, type TLiteral, type SchemaOptions } from '@sinclair/typebox';

/**
 * Shared schema building blocks. Every schema may carry `expected`, a short
 * human description used in config error messages ("expected: a duration like 15s").
 */
export interface Described extends SchemaOptions {
  expected?: string;
}

export const DURATION_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h|d|w)?\\s*$';
export const BYTESIZE_PATTERN = '^\\s*\\d+\\s*(B|KB|MB|GB|kb|mb|gb|b)?\\s*$';

export function Duration(defaultValue: string, opts: Described = {}) {
  return Type.Union([Type.String({ pattern: DURATION_PATTERN }), Type.Integer({ minimum: 0 })], {
    default: defaultValue,
    expected: 'a duration such as "15s", "500ms", "1m" or a number of milliseconds',
    ...opts,
  });
}

export function ByteSize(defaultValue: string, opts: Described = {}) {
  return Type.Union([Type.String({ pattern: BYTESIZE_PATTERN }), Type.Integer({ minimum: 0 })], {
    default: defaultValue,
    expected: 'a size such as "1MB", "64KB" or a number of bytes',
    ...opts,
  });
}

export function Enum<const T extends readonly string[]>(values: T, opts: Described = {}) {
  const literals = values.map((v) => Type.Literal(v)) as TLiteral<T[number]>[];
  return Type.Union(literals, { expected: `one of ${values.join(', ')}`, ...opts });
}

/** `port` or `"host:port"`; the port range is checked again by parseBind. */
export function Bind(defaultValue: string) {
  return Type.Union(
    [Type.Integer({ minimum: 0, maximum: 65535 }), Type.String({ pattern: '^(\\d{1,5}|\\[[0-9a-fA-F:.]+\\]:\\d{1,5}|[^:\\[\\]\\s]+:\\d{1,5})$' })],
    { default: defaultValue, expected: 'a port or "host:port" (IPv6 as "[::1]:port")' },
  );
}
