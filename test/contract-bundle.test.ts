import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';
import { describe, expect, it } from 'vitest';
import { bundleDigest, bundleSchema, type Bundle } from '../src/bundle/format.ts';
import { BundleLoadError } from '../src/runtime/bundle.ts';
import { verifyBundle } from '../src/runtime/bundle-schema.ts';
import { Runtime } from '../src/runtime/runtime.ts';
import { REPO_ROOT } from './helpers/cli.ts';
import { VALID_WORKSPACE } from './helpers/contract.ts';
import { tempDir } from './helpers/workspace.ts';

const EXPECTED = path.join(VALID_WORKSPACE, 'expected/helper.bundle.json');

function expectedBundle(): Bundle {
  return JSON.parse(readFileSync(EXPECTED, 'utf8')) as Bundle;
}

/** The bundle after `edit`, with its digest recomputed: only the schema can tell it is wrong. */
function tampered(edit: (bundle: Record<string, any>) => void): Bundle {
  const bundle = expectedBundle() as unknown as Record<string, any>;
  edit(bundle);
  bundle['digest'] = bundleDigest(bundle as unknown as Bundle);
  return bundle as unknown as Bundle;
}

/** Loads `bundle` from a file, as `botc call` does; resolves to the error's message. */
async function refusal(bundle: Bundle): Promise<string> {
  const file = path.join(tempDir('botc-bundle-'), 'helper.bundle.json');
  writeFileSync(file, JSON.stringify(bundle));
  const error = await Runtime.load(file, { root: VALID_WORKSPACE }).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(BundleLoadError);
  return (error as Error).message;
}

describe('the bundle has one zod schema, checked on load', () => {
  it('every bundle the build wrote for the fixtures meets the schema', async () => {
    const files = await fg('test/{fixtures,fixtures-*}/**/*.bundle.json', { cwd: REPO_ROOT, absolute: true });
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) {
      const result = bundleSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      expect({ file: path.relative(REPO_ROOT, file), issues: result.error?.issues ?? [] }).toEqual({ file: path.relative(REPO_ROOT, file), issues: [] });
    }
  });

  it('a wrong-typed nested field is refused on load, and the message names its JSON path', async () => {
    const message = await refusal(tampered((b) => { b.experts[0].blocks[0].start = '0'; }));
    expect(message).toContain('experts[0].blocks[0].start');
    expect(message).toMatch(/expected number/);
  });

  it('a MethodSpec field outside its closed set is refused with the method id in the path', async () => {
    const message = await refusal(tampered((b) => { b.methods['demo.things.list.v1'].capabilities = ['admin']; }));
    expect(message).toContain('methods["demo.things.list.v1"].capabilities[0]');
  });

  it('an integration field of the wrong kind is refused with its path', async () => {
    const message = await refusal(tampered((b) => { b.integrations.demo.tier = 4; }));
    expect(message).toContain('integrations.demo.tier');
  });

  it('a key the format does not define is refused', async () => {
    const message = await refusal(tampered((b) => { b.tools[0].hidden = true; }));
    expect(message).toContain('tools[0]: unknown key "hidden"');
  });

  it('a well-formed bundle whose content changed after the build is still refused by its digest', () => {
    const bundle = expectedBundle();
    bundle.bot.description = 'Changed.';
    expect(() => verifyBundle(bundle)).toThrow(/digest does not match/);
  });

  it('verifyBundle returns the very value it checked', () => {
    const bundle = expectedBundle();
    expect(verifyBundle(bundle)).toBe(bundle);
  });
});
