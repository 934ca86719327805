import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalJson, sortKeys } from '../src/bundle/canonical.ts';
import { bundleDigest, sealSortedBundle, type Bundle } from '../src/bundle/format.ts';

/**
 * canonicalJson is RFC 8785 (JCS): other runtimes recompute bundle digests with their own JCS
 * implementation. The vectors are the RFC author's published test data
 * (test/vendor/json-canonicalization, Apache-2.0).
 */
const VECTORS = path.join(import.meta.dirname, 'vendor/json-canonicalization');

describe('canonical JSON is RFC 8785 (JCS)', () => {
  for (const name of readdirSync(path.join(VECTORS, 'input'))) {
    it(`matches the published vector ${name}`, () => {
      const input = JSON.parse(readFileSync(path.join(VECTORS, 'input', name), 'utf8')) as unknown;
      const expected = readFileSync(path.join(VECTORS, 'output', name), 'utf8');
      expect(canonicalJson(input)).toBe(expected);
    });
  }

  it('serializes numbers as ECMAScript does (RFC 8785 appendix B samples)', () => {
    const samples: [number, string][] = [
      [0, '0'], [-0, '0'], [5e-324, '5e-324'], [1.7976931348623157e308, '1.7976931348623157e+308'],
      [9007199254740992, '9007199254740992'], [-9007199254740992, '-9007199254740992'],
      [295147905179352830000, '295147905179352830000'], [1e21, '1e+21'], [1e-7, '1e-7'],
      [333333333.3333333, '333333333.3333333'], [0.000001, '0.000001'],
    ];
    for (const [value, text] of samples) expect(canonicalJson(value)).toBe(text);
  });

  it('orders array-index member names by code units, not numerically as objects enumerate them', () => {
    expect(canonicalJson({ 10: 'a', 9: 'b', b: 1, a: 2 })).toBe('{"10":"a","9":"b","a":2,"b":1}');
    expect(canonicalJson({ '\u20ac': 1, '\ud83d\ude02': 2, '\ufb33': 3 })).toBe('{"\u20ac":1,"\ud83d\ude02":2,"\ufb33":3}');
  });

  it('refuses values JSON cannot represent', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalJson({ a: Number.POSITIVE_INFINITY })).toThrow(TypeError);
    expect(() => canonicalJson(10n)).toThrow(TypeError);
  });

  it('a bundle digest is the sha256 of the JCS of everything but the digest, also with index-like keys', () => {
    const body = {
      format: 'botc.bundle/1', bot: { id: 'x', version: '1.0.0', description: 'd' }, experts: [], tools: [],
      methods: { 'x.a.v1': { input_schema: { type: 'object', properties: { 10: {}, 9: {} } } } },
      integrations: {}, sources: {},
    } as unknown as Omit<Bundle, 'digest'>;
    const sealed = sealSortedBundle(sortKeys(body) as Omit<Bundle, 'digest'>);
    expect(sealed.digest).toBe(bundleDigest(sealed));
    expect(JSON.stringify(sortKeys(body))).not.toBe(canonicalJson(body)); // the case the slow path exists for
  });
});
