import { types } from 'node:util';
import type { AuthStatus } from '../integration/types.ts';

/** Nesting deeper than this in a provider result is refused (JSON from a capped body stays well under it). */
export const PLAIN_MAX_DEPTH = 256;
/** At most this many values (objects, arrays, primitives) in one result, so shared references cannot multiply the copy. */
export const PLAIN_MAX_NODES = 2_000_000;

const HAS_OWN = Object.prototype.hasOwnProperty;

/** Why a value is not plain JSON data; thrown by `toPlain` and caught at the integration boundary. */
export class NotPlainData extends Error {
  override name = 'NotPlainData';
}

/**
 * Copies a value an integration handed back into plain JSON data: strings, finite numbers,
 * booleans, null, arrays and objects whose prototype is `Object.prototype` or null. Every
 * string, object key included, passes through `mapString` (the secret scrubber) in the same
 * walk. Object properties that are `undefined` are left out, as JSON would.
 *
 * Anything else throws NotPlainData: a Proxy (its traps are never run), a class instance (a
 * Date, a Map, a Buffer), a BigInt, a symbol, a function, a non-finite number, a cycle, more
 * than PLAIN_MAX_DEPTH levels or PLAIN_MAX_NODES values. A getter that throws, throws out of
 * here too. Callers run this inside their error boundary and turn any throw into an error
 * result, so that nothing an integration returns can crash the process or reach the caller
 * as a live object.
 */
export function toPlain(value: unknown, mapString: (text: string) => string = identity): unknown {
  return copy(value, 0, { nodes: 0, ancestors: [], mapString });
}

/** The state of one `toPlain` walk. A throw abandons the walk, so `ancestors` is not unwound then. */
interface Walk {
  nodes: number;
  /** The objects on the path from the root: a cycle is an object that is its own ancestor. */
  ancestors: object[];
  mapString: (text: string) => string;
}

/** One value: objects and arrays are copied by `copyObject`, anything else is answered here (no call of its own). */
function copy(current: unknown, depth: number, walk: Walk): unknown {
  if (++walk.nodes > PLAIN_MAX_NODES) throw new NotPlainData(`more than ${PLAIN_MAX_NODES} values`);
  switch (typeof current) {
    case 'string':
      return walk.mapString(current);
    case 'boolean':
      return current;
    case 'number':
      if (!Number.isFinite(current)) throw new NotPlainData('a number JSON cannot carry');
      return current;
    case 'object':
      return current === null ? null : copyObject(current, depth, walk);
    default:
      throw new NotPlainData(`a ${typeof current}`);
  }
}

function copyObject(current: object, depth: number, walk: Walk): unknown {
  if (types.isProxy(current)) throw new NotPlainData('a Proxy');
  if (depth >= PLAIN_MAX_DEPTH) throw new NotPlainData(`nesting deeper than ${PLAIN_MAX_DEPTH} levels`);
  if (walk.ancestors.includes(current)) throw new NotPlainData('a cycle');
  walk.ancestors.push(current);
  let out: unknown;
  if (Array.isArray(current)) {
    if (Object.getPrototypeOf(current) !== Array.prototype) throw new NotPlainData('an array subclass');
    const items: unknown[] = new Array(current.length);
    // Index access, not iteration: an overridden iterator is code we do not run.
    for (let i = 0; i < current.length; i++) {
      const item: unknown = current[i];
      items[i] = item === undefined ? null : copy(item, depth + 1, walk);
    }
    out = items;
  } else {
    const proto: unknown = Object.getPrototypeOf(current);
    if (proto !== Object.prototype && proto !== null) throw new NotPlainData('an instance of a class');
    const fields: Record<string, unknown> = {};
    // for-in with hasOwnProperty visits the own enumerable string keys in Object.keys' order,
    // without allocating their array (V8 compiles this form to a cheap check over the enum cache).
    for (const key in current) {
      if (!HAS_OWN.call(current, key)) continue;
      const item: unknown = (current as Record<string, unknown>)[key];
      if (item === undefined) continue;
      const name = walk.mapString(key);
      const copied = copy(item, depth + 1, walk);
      // defineProperty for `__proto__` only: assigning it would set the prototype instead.
      if (name === '__proto__') Object.defineProperty(fields, name, { value: copied, enumerable: true, writable: true, configurable: true });
      else fields[name] = copied;
    }
    out = fields;
  }
  walk.ancestors.pop();
  return out;
}

/** NotPlainData unless `value` is a plain object: no Proxy, no array, no class instance. */
export function assertPlainObject(value: unknown): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || types.isProxy(value) || Array.isArray(value)) throw new NotPlainData('not an object');
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw new NotPlainData('an instance of a class');
}

/** An own field of a plain object (see `assertPlainObject`), or undefined; inherited fields are never read. */
export function ownField(value: Record<string, unknown>, field: string): unknown {
  return Object.hasOwn(value, field) ? value[field] : undefined;
}

/** Own enumerable fields of a plain object, read once each; NotPlainData for anything else. */
export function plainFields(value: unknown, fields: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || types.isProxy(value) || Array.isArray(value)) throw new NotPlainData('not an object');
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw new NotPlainData('an instance of a class');
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    if (Object.hasOwn(value, field)) out[field] = (value as Record<string, unknown>)[field];
  }
  return out;
}

/**
 * The AuthStatus fields of what an integration's `authStatus()` returned, as plain data; throws
 * (NotPlainData, or whatever a getter throws) for anything else, for the caller's error boundary.
 */
export function plainAuthStatus(value: unknown): AuthStatus {
  return toPlain(plainFields(value, ['authenticated', 'scopes', 'detail'])) as AuthStatus;
}

function identity(text: string): string {
  return text;
}
