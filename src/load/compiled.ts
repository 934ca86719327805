import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CACHE_DIR, botcVersionTag, cacheKey, readCacheEntry } from './cache-entry.ts';

/**
 * Precompiled integration modules. The build bundles every module it loads (TypeScript
 * transpiled, its local imports inlined, packages as absolute `file:` URLs); that JavaScript
 * is kept in the build cache (`.botc/cache/compiled/`) under the module's path and pin, so
 * `botc call` and the other runtime commands can import the module without a TypeScript
 * loader.
 *
 * The cache sits in the workspace, where anyone who can add a file (a pull request, a shared
 * checkout) could plant an entry under the pin of reviewed sources. So every entry carries an
 * HMAC-SHA256 over botc's version, the module's path, its pin and the code, under a key of the
 * user's own, outside every workspace (`$XDG_CACHE_HOME/botc/module.key`, else
 * `~/.cache/botc/module.key`; 32 random bytes, created 0600 in a 0700 folder, refused when it is
 * a link, not the user's, or readable by others). An entry without a valid MAC is ignored and
 * the module loads from its file.
 */

/** The kind (folder) of precompiled entries in the build cache. */
export const COMPILED_KIND = 'compiled';

/** What one precompiled entry holds. */
export interface CompiledModule {
  /** Workspace-relative module path. */
  module: string;
  /** The module's pin (src/load/modules.ts `modulePin`). */
  pin: string;
  /** The bundled module, ES module JavaScript. */
  code: string;
  /** HMAC-SHA256 (hex) of the above under the user's module key. */
  mac: string;
}

const KEY_BYTES = 32;

/** The user's key file: outside every workspace. */
function keyFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(base, 'botc', 'module.key');
}

let cachedKey: Buffer | null | undefined;
/** The key file `cachedKey` was read from: a process whose XDG_CACHE_HOME changes reads the new one. */
let cachedFile: string | undefined;

/**
 * The user's module key; with `create`, made when missing. Undefined when there is none or it
 * cannot be trusted (a link, not a regular file, not owned by this user, readable or writable
 * by others, not 32 bytes). Never throws.
 */
export function moduleKey(create: boolean): Buffer | undefined {
  const file = keyFile();
  if (file !== cachedFile) {
    cachedKey = undefined;
    cachedFile = file;
  }
  if (cachedKey) return cachedKey;
  if (cachedKey === null && !create) return undefined;
  try {
    if (create && !lstatSync(file, { throwIfNoEntry: false })) {
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      try {
        // Written whole by one call before anyone can read it: a concurrent build that made it
        // first wins (EEXIST), and both use that one.
        const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
        try {
          writeSync(fd, randomBytes(KEY_BYTES));
        } finally {
          closeSync(fd);
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    const fd = openSync(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    try {
      const stat = fstatSync(fd);
      const mine = typeof process.getuid !== 'function' || stat.uid === process.getuid();
      if (!stat.isFile() || !mine || (stat.mode & 0o077) !== 0 || stat.size !== KEY_BYTES) {
        cachedKey = null;
        return undefined;
      }
      return (cachedKey = readFileSync(fd));
    } finally {
      closeSync(fd);
    }
  } catch {
    cachedKey = null;
    return undefined;
  }
}

/** The cache key of a module's precompiled entry: botc's version, the module's path and its pin. */
export function compiledKey(module: string, pin: string): string {
  return cacheKey(COMPILED_KIND, botcVersionTag(), module, pin);
}

function mac(key: Buffer, module: string, pin: string, code: string): string {
  return createHmac('sha256', key).update(JSON.stringify([botcVersionTag(), module, pin, code])).digest('hex');
}

/**
 * The entry to store for a module the build bundled, or undefined when it should not be
 * precompiled: no user key can be made, or the code reads `import.meta` (imported from a
 * `data:` URL it would see another URL than its file's).
 */
export function compiledEntry(module: string, pin: string, code: string): CompiledModule | undefined {
  if (code.includes('import.meta')) return undefined;
  const key = moduleKey(true);
  return key ? { module, pin, code, mac: mac(key, module, pin, code) } : undefined;
}

/**
 * The precompiled code of `module` (workspace-relative) with pin `pin`, from the build cache of
 * `root`, when there is an entry whose MAC verifies under the user's key; else undefined.
 */
export function readCompiled(root: string, module: string, pin: string): string | undefined {
  const key = moduleKey(false);
  if (!key) return undefined;
  const read = readCacheEntry(path.join(root, CACHE_DIR), COMPILED_KIND, compiledKey(module, pin));
  if (typeof read === 'string') return undefined;
  const entry = read.value as Partial<CompiledModule> | null;
  if (entry === null || typeof entry !== 'object' || entry.module !== module || entry.pin !== pin || typeof entry.code !== 'string' || typeof entry.mac !== 'string') return undefined;
  const expected = Buffer.from(mac(key, module, pin, entry.code), 'hex');
  const given = Buffer.from(entry.mac, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected) ? entry.code : undefined;
}
