import type { Bundle } from '../bundle/format.ts';
import { bundleDigest } from '../bundle/digest.ts';
import { sha256Hex } from '../load/cache-entry.ts';
import { parseBundleText, readBundleText } from './bundle.ts';
import { readVerdict, storeVerdict } from './verdicts.ts';

/** Bundles this process checked, with the digest they had then (objects handed to `Runtime.load` twice). */
const checked = new WeakMap<object, string>();

/**
 * A bundle file (path) or parsed bundle (object), checked as `verifyBundle` checks it (format,
 * every field against the bundle schema, digest; bundle-schema.ts), then typed as `Bundle`.
 * Throws BundleLoadError with the same messages.
 *
 * Two shortcuts spare a runtime command the schema library (zod), neither of them trusting
 * anything another user could have written:
 * - a file whose exact text was checked before, with a verdict stored in the cache of the
 *   workspace `root` under the user's key (verdicts.ts), is not checked again: the same bytes
 *   give the same verdict. A checked file's verdict is stored when `root` is given.
 * - an object this process checked already is taken when its digest, computed again, is still
 *   the one it had: a change to its content since changes the digest, and it is checked again.
 */
export async function loadBundle(source: unknown, root?: string): Promise<Bundle> {
  if (typeof source === 'string') {
    const text = readBundleText(source);
    const textSha256 = sha256Hex(text);
    const value = parseBundleText(source, text);
    if (root !== undefined && typeof value === 'object' && value !== null && readVerdict(root, 'bundle', textSha256)) {
      const bundle = value as Bundle;
      checked.set(bundle, bundle.digest);
      return bundle;
    }
    const bundle = await verify(value);
    if (root !== undefined) storeVerdict(root, 'bundle', textSha256, true);
    return bundle;
  }
  if (typeof source === 'object' && source !== null && checked.has(source)) {
    const digest = checked.get(source);
    if ((source as { digest?: unknown }).digest === digest && bundleDigest(source) === digest) return source as Bundle;
  }
  return verify(source);
}

async function verify(value: unknown): Promise<Bundle> {
  const { verifyBundle } = await import('./bundle-schema.ts');
  const bundle = verifyBundle(value);
  checked.set(bundle, bundle.digest);
  return bundle;
}
