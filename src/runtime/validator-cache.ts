import { createHmac, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { CACHE_DIR, botcVersionTag, cacheKey, readCacheEntry } from '../load/cache-entry.ts';
import { moduleKey } from '../load/compiled.ts';
import { STANDALONE_REGEXP } from '../schema/ajv.ts';
import { linearRegExp } from '../schema/regexp.ts';
import { writeUserEntry } from './verdicts.ts';

/**
 * Precompiled validators: the code ajv generates for a schema (`ajv/dist/standalone`), kept in
 * the workspace's cache (`.botc/cache/validator/`) under the schema's exact JSON text, so a
 * later `botc call` validates with it without loading ajv or compiling the schema again (~100 ms
 * of CPU at each start).
 *
 * The entry is code the runtime runs, and the cache sits in the workspace, where anyone who can
 * add a file could plant one. So, as for precompiled integration modules (src/load/compiled.ts),
 * each entry carries an HMAC-SHA256 under the user's own module key over botc's version, the
 * versions of ajv and ajv-formats, the schema's text and the code; an entry whose MAC does not
 * verify is ignored and the schema compiled as before. Nothing is stored when the user has no
 * key or the workspace no cache folder. Reads and writes never throw.
 */

/** The folder of precompiled validators under `.botc/cache/`. */
export const VALIDATOR_KIND = 'validator';

const require = createRequire(import.meta.url);

let libraries: string | undefined;

/** The versions of the code generator and of the formats the code calls: other versions, other code. */
function libraryVersions(): string {
  if (libraries !== undefined) return libraries;
  const version = (name: string) => {
    try {
      return String((require(`${name}/package.json`) as { version?: unknown }).version);
    } catch {
      return 'unknown';
    }
  };
  return (libraries = `ajv@${version('ajv')};ajv-formats@${version('ajv-formats')}`);
}

function entryKey(schemaText: string): string {
  return cacheKey(VALIDATOR_KIND, botcVersionTag(), libraryVersions(), schemaText);
}

function mac(key: Buffer, schemaText: string, code: string): Buffer {
  return createHmac('sha256', key).update(JSON.stringify([botcVersionTag(), VALIDATOR_KIND, libraryVersions(), schemaText, code])).digest();
}

/**
 * The precompiled validator of the schema whose JSON text is `schemaText`, from the cache of
 * `root`, when an entry's MAC verifies under the user's key; else undefined.
 */
export function readValidator(root: string, schemaText: string): ValidateFunction | undefined {
  try {
    const key = moduleKey(false);
    if (!key) return undefined;
    const read = readCacheEntry(path.join(root, CACHE_DIR), VALIDATOR_KIND, entryKey(schemaText));
    if (typeof read === 'string') return undefined;
    const entry = read.value as { schema?: unknown; code?: unknown; mac?: unknown } | null;
    if (entry === null || typeof entry !== 'object' || entry.schema !== schemaText || typeof entry.code !== 'string' || typeof entry.mac !== 'string') return undefined;
    const expected = mac(key, schemaText, entry.code);
    const given = Buffer.from(entry.mac, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return run(entry.code);
  } catch {
    return undefined;
  }
}

/**
 * Runs the code `ajv/dist/standalone` wrote (a CommonJS module) and returns its validator. Its
 * `require`s are ajv's small runtime helpers and the formats of ajv-formats, resolved from here,
 * and botc's linear-time regular expressions.
 */
function run(code: string): ValidateFunction {
  const module: { exports: unknown } = { exports: {} };
  const load = (id: string): unknown => (id === STANDALONE_REGEXP ? { linearRegExp } : require(id));
  // The code is what ajv generated for this schema and version, authenticated by the MAC above.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  new Function('module', 'exports', 'require', code)(module, module.exports, load);
  const validate = module.exports as ValidateFunction;
  if (typeof validate !== 'function') throw new TypeError('not a validator');
  return validate;
}

/**
 * Stores `code` (from `ajv/dist/standalone`) as the precompiled validator of `schemaText` in the
 * cache of `root`: only when the user has a key and `.botc/cache` exists as a real folder;
 * written 0600 to a temporary file renamed into place. A failure is silent.
 */
export function storeValidator(root: string, schemaText: string, code: string): void {
  const key = moduleKey(false);
  if (!key) return;
  writeUserEntry(root, VALIDATOR_KIND, entryKey(schemaText), { schema: schemaText, code, mac: mac(key, schemaText, code).toString('hex') });
}

/** The standalone module source of a validator compiled by `ajv` with `standalone: true`; undefined when ajv cannot write it. */
export function standaloneSource(ajv: unknown, validate: ValidateFunction): string | undefined {
  try {
    const standaloneCode = (require('ajv/dist/standalone') as { default: (ajv: unknown, validate: ValidateFunction) => string }).default;
    return standaloneCode(ajv, validate);
  } catch {
    return undefined;
  }
}
