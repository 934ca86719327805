import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { build } from '../src/build/build.ts';
import { BuildCache } from '../src/build/cache/cache.ts';
import type { Bundle } from '../src/bundle/format.ts';
import { compiledEntry, compiledKey } from '../src/load/compiled.ts';
import { Runtime } from '../src/runtime/runtime.ts';
import { tempDir, writeFiles } from './helpers/workspace.ts';

const MANIFEST = `${JSON.stringify({
  bot: 'demo', version: '1.0.0', description: 'A demo bot.',
  tools: [{ name: 'things', description: 'Reads things.', methods: ['acme.things.list.v1'] }],
}, null, 2)}\n`;

const REGISTRY = `${JSON.stringify({ integrations: [{ provider: 'acme', module: 'acme/index.ts', export: 'AcmeIntegration', classification: 'read_only', modes: ['request_response'], lifecycle: 'active' }] }, null, 2)}\n`;

/** A TypeScript module (it needs a loader unless precompiled) that records, on load, where it was loaded from. */
const module = (tag: string, from = 'file') => `import { DESCRIPTION } from './text.ts';
// ${tag}
(globalThis as Record<string, unknown>).__botcLoadedFrom = ${JSON.stringify(from)};
export class AcmeIntegration {
  describeMethods(): unknown[] {
    return [{
      method_id: 'acme.things.list.v1', provider: 'acme', description: DESCRIPTION,
      input_schema: { type: 'object', additionalProperties: false, properties: {} }, output_schema: { type: 'object' },
      capabilities: ['read'], auth_scopes: [], rate_limit_hint: null, idempotency: 'safe_read',
      cost_hint: null, deprecated: false, replacement_method_id: null,
    }];
  }
  async authStatus() { return { authenticated: false }; }
  async call() { return { ok: false, error: { code: 'PROVIDER_ERROR', message: 'no', provider_code: null, http_status: null, retriable: false } }; }
}
`;

async function builtWorkspace(tag: string) {
  const root = tempDir();
  writeFiles(root, {
    'bots/demo/manifest.json': MANIFEST,
    'bots/demo/prompts/expert_helper.md': '---\nfexp_description: Helps with demos.\nfexp_allow_tools: [things]\n---\nYou help.\n',
    'bots/demo/prompts/tool_things.md': '---\ndescription: How to use things.\n---\nList them.\n',
    'integrations/manifest.json': REGISTRY,
    'integrations/acme/index.ts': module(tag),
    'integrations/acme/text.ts': 'export const DESCRIPTION = "Lists things.";\n',
  });
  const result = await build({ root, keepBundles: false, lock: 'ignore' });
  expect(result.diagnostics).toEqual([]);
  const bundlePath = path.join(root, 'dist', 'demo.bundle.json');
  const bundle = JSON.parse(readFileSync(bundlePath, 'utf8')) as Bundle;
  return { root, bundlePath, pin: bundle.integrations['acme']!.sha256 };
}

const loadedFrom = () => (globalThis as Record<string, unknown>).__botcLoadedFrom;

beforeAll(() => {
  // The user's module key goes to a scratch folder, not the real ~/.cache.
  const home = tempDir('botc-cache-home-');
  mkdirSync(path.join(home, 'botc'), { recursive: true, mode: 0o700 });
  process.env.XDG_CACHE_HOME = home;
});

describe('precompiled integration modules', () => {
  it('the build keeps each loaded module precompiled under its pin, with a MAC under a user key kept 0600 outside the workspace', async () => {
    const { root } = await builtWorkspace('one');
    expect(readdirSync(path.join(root, '.botc', 'cache', 'compiled'))).toHaveLength(1);
    const key = path.join(process.env.XDG_CACHE_HOME!, 'botc', 'module.key');
    const { statSync } = await import('node:fs');
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(statSync(key).size).toBe(32);
  }, 20_000);

  it('the runtime imports the authenticated precompiled module for the verified pin, without a TypeScript loader', async () => {
    const { root, bundlePath, pin } = await builtWorkspace('two');
    // Replace the entry with code that says where it came from, authenticated as the build would.
    const source = readFileSync(path.join(root, '.botc', 'cache', 'compiled', readdirSync(path.join(root, '.botc', 'cache', 'compiled'))[0]!), 'utf8');
    const code = (JSON.parse(JSON.parse(source).payload) as { code: string }).code.replace('__botcLoadedFrom = "file"', '__botcLoadedFrom = "precompiled"');
    expect(code).toContain('"precompiled"');
    const cache = BuildCache.open(root)!;
    cache.put('compiled', compiledKey('integrations/acme/index.ts', pin), compiledEntry('integrations/acme/index.ts', pin, code));
    cache.flush();
    await Runtime.load(bundlePath, { root });
    expect(loadedFrom()).toBe('precompiled');
  }, 20_000);

  it('a planted entry whose MAC does not verify (another key) is ignored: the module loads from its file', async () => {
    const { root, bundlePath, pin } = await builtWorkspace('three');
    const file = path.join(root, '.botc', 'cache', 'compiled', readdirSync(path.join(root, '.botc', 'cache', 'compiled'))[0]!);
    const payload = JSON.parse(JSON.parse(readFileSync(file, 'utf8')).payload) as { code: string };
    const planted = { module: 'integrations/acme/index.ts', pin, code: payload.code.replace('__botcLoadedFrom = "file"', '__botcLoadedFrom = "planted"'), mac: '00'.repeat(32) };
    const cache = BuildCache.open(root)!;
    cache.put('compiled', compiledKey('integrations/acme/index.ts', pin), planted);
    cache.flush();
    await Runtime.load(bundlePath, { root });
    expect(loadedFrom()).toBe('file');
  }, 20_000);
});
