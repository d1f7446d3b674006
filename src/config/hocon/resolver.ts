import { HoconError } from './errors.js';
import type { HoconObject, HoconValue, Node, ObjNode, SubstNode } from './nodes.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** Marks a value that is not there: an undefined optional substitution, or a field it removes. */
const UNDEF: unique symbol = Symbol('undefined');
type Maybe = HoconValue | typeof UNDEF;

/** Resolves every substitution of a parsed tree and returns plain data. */
export function resolveDocument(root: ObjNode, env: Env): HoconObject {
  const value = new Resolver(root, env).resolve(root, []);
  return value as HoconObject; // an object node always resolves to an object
}

class Resolver {
  private readonly memo = new Map<Node, Maybe>();
  /** Nodes being resolved right now; for a merge, the value of the entries below the current one. */
  private readonly active = new Map<Node, { below: Maybe } | null>();

  constructor(private readonly root: ObjNode, private readonly env: Env) {}

  resolve(node: Node, path: readonly string[]): Maybe {
    const known = this.memo.get(node);
    if (known !== undefined) return known;
    if (this.active.has(node)) {
      throw new HoconError(node.pos, `substitution cycle: the value of '${path.join('.')}' depends on itself`);
    }
    this.active.set(node, null);
    try {
      const v = this.compute(node, path);
      this.memo.set(node, v);
      return v;
    } finally {
      this.active.delete(node);
    }
  }

  private compute(node: Node, path: readonly string[]): Maybe {
    switch (node.kind) {
      case 'prim':
        return node.value;
      case 'obj': {
        const out: HoconObject = {};
        for (const [k, child] of node.fields) {
          const v = this.resolve(child, [...path, k]);
          if (v !== UNDEF) defineKey(out, k, v);
        }
        return out;
      }
      case 'arr': {
        const out: HoconValue[] = [];
        for (const item of node.items) {
          const v = this.resolve(item, path);
          if (v !== UNDEF) out.push(v);
        }
        return out;
      }
      case 'subst':
        return this.substitute(node, path);
      case 'concat':
        return this.concat(node.parts, path);
      case 'merge': {
        const state: { below: Maybe } = { below: UNDEF };
        this.active.set(node, state);
        for (const layer of node.stack) {
          const v = this.resolve(layer, path);
          state.below = mergeResolved(state.below, v);
        }
        return state.below;
      }
    }
  }

  private concat(parts: readonly Node[], path: readonly string[]): Maybe {
    const values: { v: HoconValue; text: string; ws: boolean; node: Node }[] = [];
    for (const p of parts) {
      const v = this.resolve(p, path);
      if (v === UNDEF) continue;
      const ws = p.kind === 'prim' && p.ws;
      values.push({ v, ws, node: p, text: p.kind === 'prim' ? p.text : v === null ? 'null' : String(v) });
    }
    while (values.length > 0 && values[0]!.ws) values.shift();
    while (values.length > 0 && values[values.length - 1]!.ws) values.pop();
    if (values.length === 0) return UNDEF;
    if (values.length === 1) return values[0]!.v;
    const solid = values.filter((x) => !x.ws);
    const first = solid[0]!;
    if (isObject(first.v)) {
      let acc: HoconValue = {};
      for (const x of solid) {
        if (!isObject(x.v)) throw new HoconError(x.node.pos, `cannot concatenate an object with ${describe(x.v)}`);
        acc = mergeResolved(acc, x.v) as HoconValue;
      }
      return acc;
    }
    if (Array.isArray(first.v)) {
      const acc: HoconValue[] = [];
      for (const x of solid) {
        if (!Array.isArray(x.v)) throw new HoconError(x.node.pos, `cannot concatenate an array with ${describe(x.v)}`);
        acc.push(...x.v);
      }
      return acc;
    }
    const odd = solid.find((x) => typeof x.v === 'object' && x.v !== null);
    if (odd) throw new HoconError(odd.node.pos, `cannot concatenate a string with ${describe(odd.v)}`);
    return values.map((x) => x.text).join('');
  }

  private substitute(node: SubstNode, fieldPath: readonly string[]): Maybe {
    let v: Maybe = UNDEF;
    if (node.prefix.length > 0) v = this.lookup([...node.prefix, ...node.path], fieldPath, node);
    if (v === UNDEF) v = this.lookup(node.path, fieldPath, node);
    if (v === UNDEF && node.path.length === 1) {
      const e = this.env[node.path[0]!];
      if (e !== undefined) v = e;
    }
    if (v === UNDEF && !node.optional) {
      throw new HoconError(
        node.pos,
        `could not resolve substitution \${${node.path.join('.')}}: no such setting in the config or the environment` +
          ' (use ${?...} if it is optional)',
      );
    }
    return v;
  }

  /** Looks `path` up from the root. A field whose value is being computed is seen as it was
   *  before the entry being computed, which makes `a = ${a}"x"` refer to the earlier `a`. */
  private lookup(path: readonly string[], fieldPath: readonly string[], subst: SubstNode): Maybe {
    let node: Node = this.root;
    let value: Maybe = UNDEF;
    let depth = 0;
    for (;;) {
      if (node.kind === 'obj' && depth < path.length) {
        const child = node.fields.get(path[depth]!);
        if (child === undefined) return UNDEF;
        node = child;
        depth++;
        continue;
      }
      value = this.valueForLookup(node, path.slice(0, depth), path, fieldPath, subst);
      break;
    }
    for (; depth < path.length; depth++) {
      if (value === UNDEF || !isObject(value)) return UNDEF;
      const next: HoconValue | undefined = Object.prototype.hasOwnProperty.call(value, path[depth]!)
        ? value[path[depth]!]
        : undefined;
      if (next === undefined) return UNDEF;
      value = next;
    }
    return value;
  }

  private valueForLookup(
    node: Node,
    nodePath: readonly string[],
    path: readonly string[],
    fieldPath: readonly string[],
    subst: SubstNode,
  ): Maybe {
    const known = this.memo.get(node);
    if (known !== undefined) return known;
    if (this.active.has(node)) {
      const state = this.active.get(node);
      if (state) return state.below;
      // A self-reference (the path starts with the field's own path) with no earlier value below it.
      if (isPrefix(fieldPath, path)) return UNDEF;
      throw new HoconError(
        subst.pos,
        `substitution cycle: \${${subst.path.join('.')}} needs the value of '${nodePath.join('.')}', which depends on it`,
      );
    }
    return this.resolve(node, nodePath);
  }
}

function isPrefix(a: readonly string[], b: readonly string[]): boolean {
  return a.length <= b.length && a.every((s, k) => s === b[k]);
}

function isObject(v: Maybe): v is HoconObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: HoconValue): string {
  if (Array.isArray(v)) return 'an array';
  if (isObject(v)) return 'an object';
  return `a ${v === null ? 'null' : typeof v}`;
}

/** Own, enumerable property even for names such as `__proto__`. */
function defineKey(obj: HoconObject, key: string, value: HoconValue): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Later value over earlier: objects merge deeply, anything else replaces; UNDEF leaves the earlier value. */
function mergeResolved(earlier: Maybe, later: Maybe): Maybe {
  if (later === UNDEF) return earlier;
  if (!isObject(earlier) || !isObject(later)) return later;
  const out: HoconObject = {};
  for (const k of Object.keys(earlier)) defineKey(out, k, earlier[k]!);
  for (const k of Object.keys(later)) {
    const merged = Object.prototype.hasOwnProperty.call(out, k) ? mergeResolved(out[k]!, later[k]!) : later[k]!;
    defineKey(out, k, merged as HoconValue);
  }
  return out;
}
