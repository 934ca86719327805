import { hash } from 'node:crypto';

/**
 * Recursively sorts object keys (by UTF-16 code units) and drops `undefined` members, so that
 * equal data serializes to equal bytes with `JSON.stringify` — except for integer-like keys,
 * which JavaScript objects always enumerate first in numeric order. Digests therefore use
 * `canonicalJson`, which does not depend on object key order at all.
 */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const child = (value as Record<string, unknown>)[key];
    if (child !== undefined) out[key] = sortKeys(child);
  }
  return out;
}

/**
 * The JSON Canonicalization Scheme (RFC 8785, JCS) of a JSON value: no whitespace, object
 * members sorted by the UTF-16 code units of their names, strings and numbers serialized as
 * ECMAScript's `JSON.stringify` does (which is what JCS prescribes). Other runtimes recompute
 * bundle digests with any JCS implementation and get the same bytes.
 *
 * `undefined` object members are left out, as `JSON.stringify` does.
 * @throws TypeError for values JSON cannot represent: non-finite numbers, bigints, functions,
 *   symbols, and `undefined` outside an object member.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`JCS cannot represent the number ${value}`);
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i] === undefined ? null : value[i]);
        return `${out}]`;
      }
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return canonicalJson((value as { toJSON(): unknown }).toJSON());
      let out = '{';
      let first = true;
      for (const key of Object.keys(value).sort()) {
        const child = (value as Record<string, unknown>)[key];
        if (child === undefined) continue;
        out += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJson(child)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      throw new TypeError(`JCS cannot represent a value of type ${typeof value}`);
  }
}

/** Lower-case hex sha256 of a string (as UTF-8) or bytes. */
export function sha256(text: string | Uint8Array): string {
  return hash('sha256', text, 'hex');
}
