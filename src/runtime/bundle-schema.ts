import type { z } from 'zod';
import { bundleDigest } from '../bundle/digest.ts';
import { BUNDLE_FORMAT, bundleSchema, type Bundle } from '../bundle/format.ts';
import { BundleLoadError, jsonPath, parseBundleText, readBundleText } from './bundle.ts';

// The bundle's schema check (zod), apart from the rest of bundle.ts: `botc call` loads it only
// for a bundle text it has not checked before (bundle-load.ts).

/**
 * Reads a bundle file (at most 64 MiB, UTF-8 JSON) and checks it with `verifyBundle`.
 * Throws BundleLoadError.
 */
export function readBundle(path: string): Bundle {
  return verifyBundle(parseBundleText(path, readBundleText(path)));
}

/**
 * Checks a parsed bundle: its format, every field against `bundleSchema` (types, closed value
 * sets, no unknown keys), then its digest, so a bundle edited after the build does not load.
 * Returns the value typed as `Bundle`. Throws BundleLoadError; for a field that breaks the
 * schema the message names its JSON path (`methods["a.b.v1"].capabilities[0]`) and what was
 * expected there.
 */
export function verifyBundle(value: unknown): Bundle {
  if (typeof value !== 'object' || value === null || (value as { format?: unknown }).format !== BUNDLE_FORMAT) {
    throw new BundleLoadError(`not a ${BUNDLE_FORMAT} bundle`);
  }
  const parsed = bundleSchema.safeParse(value);
  if (!parsed.success) throw new BundleLoadError(`the bundle does not match the ${BUNDLE_FORMAT} format: ${describeIssue(parsed.error.issues[0]!)}`);
  // The parsed copy has the same keys and values (every object is strict), but the digest is
  // checked on, and the caller gets, the value itself.
  const bundle = value as Bundle;
  if (bundleDigest(bundle) !== bundle.digest) {
    throw new BundleLoadError('the bundle digest does not match its content: it was changed after the build');
  }
  return bundle;
}

/** One schema problem as `<path>: <what>`; keys come from the file, so they are quoted and clipped. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length === 0 ? '(top level)' : jsonPath(issue.path);
  const what = issue.code === 'unrecognized_keys'
    ? `unknown key ${issue.keys.map((k) => JSON.stringify(k.slice(0, 64))).join(', ')}`
    : issue.message;
  return `${where}: ${what}`;
}
