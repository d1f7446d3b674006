import type { HoconPosition } from './errors.js';

/** A fully resolved HOCON value, as plain JavaScript data. */
export type HoconValue = string | number | boolean | null | HoconValue[] | HoconObject;
export interface HoconObject {
  [key: string]: HoconValue;
}

/** Intermediate (unresolved) tree built by the parser and consumed by the resolver. */
export type Node = PrimNode | ObjNode | ArrNode | SubstNode | ConcatNode | MergeNode;

export interface PrimNode {
  readonly kind: 'prim';
  readonly value: string | number | boolean | null;
  /** Source text, used when the value takes part in a string concatenation (keeps `1.0` as written). */
  readonly text: string;
  /** Whitespace between concatenated values: kept between strings, ignored between objects/arrays. */
  readonly ws: boolean;
  readonly pos: HoconPosition;
}

export interface ObjNode {
  readonly kind: 'obj';
  readonly fields: Map<string, Node>;
  readonly pos: HoconPosition;
  readonly unresolved: boolean;
}

export interface ArrNode {
  readonly kind: 'arr';
  readonly items: readonly Node[];
  readonly pos: HoconPosition;
  readonly unresolved: boolean;
}

export interface SubstNode {
  readonly kind: 'subst';
  readonly path: readonly string[];
  readonly optional: boolean;
  /** Path of the object an included file was spliced into; tried before the plain path. */
  readonly prefix: readonly string[];
  readonly pos: HoconPosition;
}

export interface ConcatNode {
  readonly kind: 'concat';
  readonly parts: readonly Node[];
  readonly pos: HoconPosition;
}

/** Several values for one key whose merge must wait for substitution resolution (earliest first). */
export interface MergeNode {
  readonly kind: 'merge';
  readonly stack: readonly Node[];
  readonly pos: HoconPosition;
}

export function isUnresolved(n: Node): boolean {
  switch (n.kind) {
    case 'prim': return false;
    case 'obj':
    case 'arr': return n.unresolved;
    default: return true;
  }
}

export function makeObj(fields: Map<string, Node>, pos: HoconPosition): ObjNode {
  let unresolved = false;
  for (const v of fields.values()) if (isUnresolved(v)) unresolved = true;
  return { kind: 'obj', fields, pos, unresolved };
}

export function makeArr(items: readonly Node[], pos: HoconPosition): ArrNode {
  return { kind: 'arr', items, pos, unresolved: items.some(isUnresolved) };
}

/** Merges `later` over `earlier` for one key: objects merge deeply, anything else replaces,
 *  and whenever the outcome depends on substitutions the values are stacked for the resolver. */
export function mergeValues(earlier: Node, later: Node): Node {
  if (later.kind === 'obj') {
    if (earlier.kind === 'obj') return mergeObjects(earlier, later);
    if (earlier.kind === 'prim' || earlier.kind === 'arr') return later;
    return stack(earlier, later);
  }
  if (!isUnresolved(later)) return later;
  return stack(earlier, later);
}

function stack(earlier: Node, later: Node): MergeNode {
  const below = earlier.kind === 'merge' ? earlier.stack : [earlier];
  return { kind: 'merge', stack: [...below, later], pos: later.pos };
}

export function mergeObjects(earlier: ObjNode, later: ObjNode): ObjNode {
  const fields = new Map(earlier.fields);
  for (const [k, v] of later.fields) setField(fields, k, v);
  return makeObj(fields, earlier.pos);
}

export function setField(fields: Map<string, Node>, key: string, value: Node): void {
  const old = fields.get(key);
  fields.set(key, old === undefined ? value : mergeValues(old, value));
}
