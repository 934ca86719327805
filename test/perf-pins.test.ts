import { createHash } from 'node:crypto';
import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { build } from '../src/build/build.ts';
import type { Bundle } from '../src/bundle/format.ts';
import { modulePin } from '../src/load/modules.ts';
import { Runtime } from '../src/runtime/runtime.ts';
import { tempDir, writeFiles } from './helpers/workspace.ts';

const MANIFEST = `${JSON.stringify({
  bot: 'demo', version: '1.0.0', description: 'A demo bot.',
  tools: [{ name: 'things', description: 'Reads things.', methods: ['acme.things.list.v1'] }],
}, null, 2)}\n`;

const REGISTRY = `${JSON.stringify({ integrations: [{ provider: 'acme', module: 'acme/index.mjs', export: 'AcmeIntegration', classification: 'read_only', modes: ['request_response'], lifecycle: 'active' }] }, null, 2)}\n`;

/** The module takes its description from a helper, which itself imports a second helper. */
const MODULE = `import { DESCRIPTION } from './lib/text.mjs';
export class AcmeIntegration {
  describeMethods() {
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

const TEXT = `import { PREFIX } from './prefix.mjs';\nexport const DESCRIPTION = PREFIX + 'things.';\n`;

function workspace(prefix = 'Lists ') {
  const root = tempDir();
  writeFiles(root, {
    'bots/demo/manifest.json': MANIFEST,
    'bots/demo/prompts/expert_helper.md': '---\nfexp_description: Helps with demos.\nfexp_allow_tools: [things]\n---\nYou help.\n',
    'bots/demo/prompts/tool_things.md': '---\ndescription: How to use things.\n---\nList them.\n',
    'integrations/manifest.json': REGISTRY,
    'integrations/acme/index.mjs': MODULE,
    'integrations/acme/lib/text.mjs': TEXT,
    'integrations/acme/lib/prefix.mjs': `export const PREFIX = ${JSON.stringify(prefix)};\n`,
  });
  return root;
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const bundleOf = (root: string) => JSON.parse(readFileSync(path.join(root, 'dist', 'demo.bundle.json'), 'utf8')) as Bundle;

describe('module pins cover the local files a module imports', () => {
  it('the pin is the sha256 over the module and its local import closure; the runtime recomputes it on load', async () => {
    const root = workspace();
    const result = await build({ root, keepBundles: false, lock: 'ignore' });
    expect(result.diagnostics).toEqual([]);
    const bundle = bundleOf(root);
    const acme = bundle.integrations['acme']!;
    const files = ['integrations/acme/lib/prefix.mjs', 'integrations/acme/lib/text.mjs'];
    expect(acme.inputs).toEqual(files);
    const moduleSha = sha(path.join(root, 'integrations/acme/index.mjs'));
    expect(bundle.sources['integrations/acme/index.mjs']).toBe(moduleSha);
    for (const file of files) expect(bundle.sources[file]).toBe(sha(path.join(root, file)));
    expect(acme.sha256).toBe(modulePin({ file: 'integrations/acme/index.mjs', sha256: moduleSha }, files.map((file) => ({ file, sha256: sha(path.join(root, file)) }))));
    expect(acme.sha256).not.toBe(moduleSha);
    await expect(Runtime.load(path.join(root, 'dist', 'demo.bundle.json'), { root })).resolves.toBeInstanceOf(Runtime);
  }, 20_000);

  it('editing a helper imported by an integration module invalidates the cache, changes the pin, and an old bundle no longer loads', async () => {
    const root = workspace();
    await build({ root, keepBundles: false, lock: 'ignore' });
    const before = bundleOf(root);
    const stale = path.join(root, 'stale.bundle.json');
    writeFileSync(stale, readFileSync(path.join(root, 'dist', 'demo.bundle.json')));
    // The helper of the helper changes: only the import closure knows of it.
    writeFileSync(path.join(root, 'integrations/acme/lib/prefix.mjs'), 'export const PREFIX = "Enumerates ";\n');
    await expect(Runtime.load(stale, { root })).rejects.toThrow(/module integrations\/acme\/index\.mjs of provider acme \(or a file it imports\) changed since the bundle was built/);
    const rebuilt = await build({ root, keepBundles: true, lock: 'ignore' });
    expect(rebuilt.diagnostics).toEqual([]);
    // The cached declarations were not used: the new description comes from the edited helper.
    expect(rebuilt.built[0]!.methods['acme.things.list.v1']!.description).toBe('Enumerates things.');
    const after = bundleOf(root);
    expect(after.integrations['acme']!.sha256).not.toBe(before.integrations['acme']!.sha256);
    expect(after.sources['integrations/acme/lib/prefix.mjs']).not.toBe(before.sources['integrations/acme/lib/prefix.mjs']);
    await expect(Runtime.load(path.join(root, 'dist', 'demo.bundle.json'), { root })).resolves.toBeInstanceOf(Runtime);
    // A removed helper: the pin cannot be computed, the bundle does not load.
    rmSync(path.join(root, 'integrations/acme/lib/prefix.mjs'));
    await expect(Runtime.load(path.join(root, 'dist', 'demo.bundle.json'), { root })).rejects.toThrow(/changed since the bundle was built/);
  }, 20_000);

  it('a module without local imports keeps its own sha256 as its pin and records no inputs', async () => {
    const root = workspace();
    writeFileSync(path.join(root, 'integrations/acme/index.mjs'), MODULE.replace("import { DESCRIPTION } from './lib/text.mjs';\n", "const DESCRIPTION = 'Lists things.';\n"));
    await build({ root, keepBundles: false, lock: 'ignore' });
    const acme = bundleOf(root).integrations['acme']!;
    expect(acme.sha256).toBe(sha(path.join(root, 'integrations/acme/index.mjs')));
    expect(acme.inputs).toBeUndefined();
  }, 20_000);

  it('a helper that is a link cannot be pinned: one unsafe-path diagnostic at the module', async () => {
    const root = workspace();
    const real = path.join(root, 'integrations/acme/lib/prefix-real.mjs');
    writeFileSync(real, 'export const PREFIX = "Lists ";\n');
    rmSync(path.join(root, 'integrations/acme/lib/prefix.mjs'));
    symlinkSync(real, path.join(root, 'integrations/acme/lib/prefix.mjs'));
    const result = await build({ root, write: false, keepBundles: false, lock: 'ignore', cache: false });
    expect(result.ok).toBe(false);
    const unsafe = result.diagnostics.filter((d) => d.code === 'unsafe-path');
    expect(unsafe).toHaveLength(1);
    expect(unsafe[0]).toMatchObject({ file: 'integrations/acme/index.mjs', line: 1, column: 1 });
    expect(unsafe[0]!.message).toMatch(/cannot be pinned/);
  }, 20_000);
});
