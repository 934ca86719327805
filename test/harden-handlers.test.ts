/**
 * An integration's handlers() and its declared methods are the same set: a handler keyed by a
 * typo of a method id, a method with no handler, or a handler for no method is a located
 * `method-spec-invalid` at build time, not UNKNOWN_METHOD at run time.
 */
import { describe, expect, test } from 'vitest';
import { checkWorkspace, positionOf, writeWorkspace } from './helpers/workspace.ts';

const REGISTRY = JSON.stringify({
  integrations: [{ provider: 'acme', module: 'acme/index.mjs', classification: 'read_only', modes: ['request_response'], lifecycle: 'active' }],
});

function moduleWith(ids: string[], handlerKeys: string[]): string {
  const specs = ids.map((id) => `  { method_id: '${id}', provider: 'acme', description: 'A method.', input_schema: { type: 'object' }, output_schema: { type: 'object' }, capabilities: ['read'], auth_scopes: [], rate_limit_hint: null, idempotency: 'safe_read', cost_hint: null, deprecated: false, replacement_method_id: null },`);
  const handlers = handlerKeys.map((key) => `      '${key}': async () => ({ data: {} }),`);
  return `const METHODS = [\n${specs.join('\n')}\n];\nexport default class Acme {\n  describeMethods() { return METHODS; }\n  handlers() {\n    return {\n${handlers.join('\n')}\n    };\n  }\n  authStatus() { return { authenticated: false }; }\n  call() { return undefined; }\n}\n`;
}

async function diagnosticsFor(source: string) {
  const root = writeWorkspace({ 'integrations/manifest.json': REGISTRY, 'integrations/acme/index.mjs': source });
  return (await checkWorkspace(root)).diagnostics.filter((d) => d.file === 'integrations/acme/index.mjs');
}

describe('handlers match declared methods', () => {
  test('a handler keyed by a typo is one diagnostic at the key, with the method it was meant for', async () => {
    const source = moduleWith(['acme.items.list.v1', 'acme.items.get.v1'], ['acme.items.list.v1', 'acme.item.get.v1']);
    const found = await diagnosticsFor(source);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ code: 'method-spec-invalid', ...positionOf(source, "'acme.item.get.v1'") });
    expect(found[0]!.message).toContain('method `acme.items.get.v1` has no handler');
    expect(found[0]!.hint).toContain('did you mean `acme.items.get.v1`?');
  });

  test('a method with no handler is reported at its declaration', async () => {
    const source = moduleWith(['acme.items.list.v1', 'acme.items.get.v1'], ['acme.items.list.v1']);
    const found = await diagnosticsFor(source);
    expect(found.map((d) => [d.code, d.line, d.column])).toEqual([['method-spec-invalid', positionOf(source, "'acme.items.get.v1'").line, positionOf(source, "'acme.items.get.v1'").column]]);
    expect(found[0]!.message).toContain('has no handler in handlers()');
  });

  test('a handler for no declared method, and nothing like it, is reported at its key', async () => {
    const source = moduleWith(['acme.items.list.v1'], ['acme.items.list.v1', 'acme.reports.export.v3']);
    const found = await diagnosticsFor(source);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ code: 'method-spec-invalid', ...positionOf(source, "'acme.reports.export.v3'") });
    expect(found[0]!.message).toContain('matches no method that describeMethods() declares');
  });

  test('matching sets, and integrations without handlers(), build clean', async () => {
    expect(await diagnosticsFor(moduleWith(['acme.items.list.v1'], ['acme.items.list.v1']))).toEqual([]);
    const noHandlers = moduleWith(['acme.items.list.v1'], []).replace(/  handlers\(\) \{[\s\S]*?\n  \}\n/, '');
    expect(await diagnosticsFor(noHandlers)).toEqual([]);
  });
});
