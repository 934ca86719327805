/**
 * Webhook and sync declarations in the registry, checked by the build (docs/inbound.md), and
 * carried in the bundle only by integrations that declare them.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { build } from '../src/build/build.ts';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

// Copies live inside the package, so their modules resolve `botc/integration` as the example's do.
const SCRATCH = path.join(REPO_ROOT, '.test-results', 'inbound-declarations');
afterAll(() => rmSync(SCRATCH, { recursive: true, force: true }));

/** A copy of the example workspace with its registry changed by `edit`. */
function workspace(edit: (registry: { integrations: Record<string, unknown>[] }) => void): string {
  mkdirSync(SCRATCH, { recursive: true });
  const dir = mkdtempSync(path.join(SCRATCH, 'ws-'));
  for (const part of ['bots', 'integrations', 'prompts', 'botc.config.json', 'botc.lock.json']) {
    try {
      cpSync(path.join(REPO_ROOT, part), path.join(dir, part), { recursive: true });
    } catch {
      // optional part
    }
  }
  const file = path.join(dir, 'integrations', 'manifest.json');
  const registry = JSON.parse(readFileSync(file, 'utf8')) as { integrations: Record<string, unknown>[] };
  edit(registry);
  writeFileSync(file, `${JSON.stringify(registry, null, 2)}\n`);
  return dir;
}

const entry = (registry: { integrations: Record<string, unknown>[] }, provider: string) => registry.integrations.find((e) => e['provider'] === provider)!;

it('the example bundles carry the GitHub webhook and the HubSpot stream; integrations without them carry neither', async () => {
  const result = await build({ root: REPO_ROOT, write: false });
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const sales = result.built.find((b) => b.bot.id === 'sales_digest')!;
  expect(sales.integrations['hubspot']!.streams).toEqual([{ name: 'deals', method_id: 'hubspot.deals.import.v1', interval_seconds: 900, record_id: '/id', params: { since: '2024-01-01T00:00:00Z' } }]);
  const withGithub = result.built.find((b) => b.integrations['github'])!;
  expect(withGithub.integrations['github']!.webhook).toMatchObject({ scheme: 'github', event_id: { header: 'x-github-delivery' } });
  for (const bundle of result.built) {
    for (const [provider, integration] of Object.entries(bundle.integrations)) {
      if (provider !== 'github' && provider !== 'statuspage') expect(integration.webhook).toBeUndefined();
      if (provider !== 'hubspot') expect(integration.streams).toBeUndefined();
    }
  }
}, 20_000);

it('mode-unsupported: a stream whose method the integration does not declare, or that is not an import method, located at its method_id', async () => {
  const root = workspace((registry) => {
    entry(registry, 'hubspot')['streams'] = [
      { name: 'deals', method_id: 'hubspot.deals.imprt.v1', interval_seconds: 900, record_id: '/id' },
      { name: 'listed', method_id: 'hubspot.deals.list.v1', interval_seconds: 900, record_id: '/id' },
    ];
  });
  const result = await build({ root, write: false });
  const found = result.diagnostics.filter((d) => d.code === 'mode-unsupported');
  expect(found).toHaveLength(2);
  expect(found[0]).toMatchObject({ file: 'integrations/manifest.json' });
  expect(found[0]!.message).toContain('hubspot.deals.imprt.v1');
  expect(found[0]!.hint).toContain('hubspot.deals.import.v1');
  expect(found[1]!.message).toContain('lacks the `import` capability');
  const text = readFileSync(path.join(root, 'integrations', 'manifest.json'), 'utf8').split('\n');
  expect(text[found[0]!.line! - 1]).toContain('"method_id"');
}, 20_000);

it('mode-unsupported for polling_sync without streams; a payload schema that does not compile and a bad pointer are registry errors', async () => {
  const root = workspace((registry) => {
    delete entry(registry, 'hubspot')['streams'];
    (entry(registry, 'github')['webhook'] as Record<string, unknown>)['payload_schema'] = { type: 'object', properties: { a: { type: 'strng' } } };
  });
  const result = await build({ root, write: false });
  const codes = result.diagnostics.map((d) => d.code);
  expect(codes.filter((c) => c === 'mode-unsupported')).toHaveLength(1);
  expect(result.diagnostics.find((d) => d.code === 'mode-unsupported')!.message).toContain('polling_sync');
  const schema = result.diagnostics.filter((d) => d.code === 'integration-registry-invalid');
  expect(schema).toHaveLength(1);
  expect(schema[0]!.message).toContain('webhook payload schema of provider `github`');
  // A pointer that is not a JSON Pointer breaks the registry's format, at the pointer.
  const bad = await build({ root: workspace((registry) => void ((entry(registry, 'statuspage')['webhook'] as Record<string, unknown>)['event_type'] = { pointer: 'type' })), write: false });
  expect(bad.diagnostics.map((d) => d.code)).toEqual(['integration-registry-invalid']);
}, 20_000);
