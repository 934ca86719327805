import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build, type BuildResult } from '../../src/build/build.ts';
import type { Diagnostic } from '../../src/diagnostics/diagnostic.ts';

/**
 * A minimal valid workspace: one bot with no tools and one expert, no integrations.
 * Tests override or delete (`null`) entries to make it fail in one specific way.
 */
export const BASE_WORKSPACE: Readonly<Record<string, string>> = {
  'bots/demo/manifest.json': `${JSON.stringify({ bot: 'demo', version: '1.0.0', description: 'A demo bot.', tools: [] }, null, 2)}\n`,
  'bots/demo/prompts/expert_helper.md': '---\nfexp_description: Helps with demos.\n---\nYou help with {{bot.description}}.\n',
};

const created: string[] = [];

/**
 * Removes the temporary directories made so far. test/helpers/setup.ts calls it after every
 * test file: with `isolate: false` this module is loaded once per worker, not once per file, so
 * a hook registered here would run after the first file only.
 */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A fresh temporary directory, removed after the test file. */
export function tempDir(prefix = 'botc-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Writes `files` (workspace-relative paths, `/` separators) into `root`; `null` skips a file. */
export function writeFiles(root: string, files: Record<string, string | Buffer | null>): void {
  for (const [rel, content] of Object.entries(files)) {
    if (content === null) continue;
    const target = path.join(root, ...rel.split('/'));
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
}

/**
 * Writes the base workspace plus `files` into a new temporary directory and returns its root.
 * A `null` value removes a base file.
 */
export function writeWorkspace(files: Record<string, string | Buffer | null> = {}, root = tempDir()): string {
  writeFiles(root, { ...BASE_WORKSPACE, ...files });
  return root;
}

/** Builds `root` without writing bundles. */
export function checkWorkspace(root: string, bots?: string[]): Promise<BuildResult> {
  return build({ root, write: false, ...(bots ? { bots } : {}) });
}

/** The diagnostics reduced to what tests compare: code, file, line, column. */
export function located(diagnostics: readonly Diagnostic[]): { code: string; file: string; line?: number; column?: number }[] {
  return diagnostics.map(({ code, file, line, column }) => ({ code, file, ...(line === undefined ? {} : { line }), ...(column === undefined ? {} : { column }) }));
}

/** 1-based line and column of the first occurrence of `needle` in `text`. */
export function positionOf(text: string, needle: string): { line: number; column: number } {
  const offset = text.indexOf(needle);
  if (offset < 0) throw new Error(`\`${needle}\` not found`);
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

export interface MethodOverrides {
  method_id: string;
  /** Serialized with JSON.stringify and re-created with JSON.parse in the module, so `__proto__` stays an own key. */
  input_schema?: unknown;
  output_schema?: unknown;
  description?: string;
}

export const PROVIDER = 'acme';
export const MODULE_FILE = `integrations/${PROVIDER}/index.mjs`;

/**
 * Files for one read-only integration, `acme`, written as a plain .mjs module with no
 * imports. Each method sits on its own line, so its id locates it in the source.
 */
export function integrationFiles(methods: MethodOverrides[]): Record<string, string> {
  const lines = methods.map((m) => {
    const input = JSON.stringify(JSON.stringify(m.input_schema ?? { type: 'object', properties: {}, additionalProperties: false }));
    const output = JSON.stringify(JSON.stringify(m.output_schema ?? { type: 'object' }));
    const description = JSON.stringify(m.description ?? 'Lists things.');
    return `      spec(${JSON.stringify(m.method_id)}, ${description}, JSON.parse(${input}), JSON.parse(${output})),`;
  });
  const source = [
    'const spec = (method_id, description, input_schema, output_schema) => ({',
    `  method_id, provider: '${PROVIDER}', description, input_schema, output_schema,`,
    "  capabilities: ['read'], auth_scopes: [], rate_limit_hint: null, idempotency: 'safe_read',",
    '  cost_hint: null, deprecated: false, replacement_method_id: null,',
    '});',
    '',
    'export class AcmeIntegration {',
    '  constructor() {}',
    '  describeMethods() {',
    '    return [',
    ...lines,
    '    ];',
    '  }',
    '  async authStatus() { return { authenticated: false }; }',
    "  async call() { return { ok: false, error: { code: 'PROVIDER_ERROR', message: 'not implemented', provider_code: null, http_status: null, retriable: false } }; }",
    '}',
    '',
  ].join('\n');
  return {
    'integrations/manifest.json': `${JSON.stringify({ integrations: [registryEntry()] }, null, 2)}\n`,
    [MODULE_FILE]: source,
  };
}

export function registryEntry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    provider: PROVIDER,
    module: `${PROVIDER}/index.mjs`,
    export: 'AcmeIntegration',
    classification: 'read_only',
    modes: ['request_response'],
    lifecycle: 'active',
    ...overrides,
  };
}

/** A bot manifest for `demo` with the given tools. */
export function manifest(tools: { name: string; description?: string; methods?: string[] }[], extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify(
    {
      bot: 'demo',
      version: '1.0.0',
      description: 'A demo bot.',
      tools: tools.map((t) => ({ name: t.name, description: t.description ?? 'Reads things.', methods: t.methods ?? [`${PROVIDER}.things.list.v1`] })),
      ...extra,
    },
    null,
    2,
  )}\n`;
}
