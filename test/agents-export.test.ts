import { tool } from '@openai/agents';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_TARGETS, exportBundle, hyphenCase, type ExportTarget } from '../src/agents/export.ts';
import { expertFunctions, type ToolStyle } from '../src/agents/functions.ts';
import { mapFunctionCall } from '../src/agents/reverse.ts';
import { build } from '../src/build/build.ts';
import type { Bundle } from '../src/bundle/format.ts';
import { main } from '../src/cli/main.ts';
import { REPO_ROOT } from './helpers/cli.ts';

/**
 * `botc export` for every target, style and expert of the example workspace, checked against
 * each target's rules as written in the README, OpenAI's own strict-schema preparation in
 * @openai/agents (which must accept every --strict export unchanged), and the reverse mapping
 * of what a strict-mode model sends back to the method's real params.
 */
let bundles: Bundle[] = [];
beforeAll(async () => {
  const result = await build({ root: REPO_ROOT, write: false, keepBundles: true });
  expect(result.ok).toBe(true);
  bundles = result.built;
});

const STYLES: ToolStyle[] = ['envelope', 'methods'];
type Json = Record<string, unknown>;

/** Every schema node of a schema, with its pointer. */
function* nodes(schema: unknown, pointer = ''): Generator<[string, Json]> {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return;
  const node = schema as Json;
  yield [pointer, node];
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' || key === '$defs') for (const [name, child] of Object.entries(value as Json)) yield* nodes(child, `${pointer}/${key}/${name}`);
    else if (key === 'items' || key === 'additionalProperties' || key === 'not') yield* nodes(value, `${pointer}/${key}`);
    else if (key === 'anyOf' || key === 'oneOf' || key === 'allOf') for (const [i, child] of (value as unknown[]).entries()) yield* nodes(child, `${pointer}/${key}/${i}`);
  }
}

const isObjectNode = (n: Json) => n['type'] === 'object' || (Array.isArray(n['type']) && n['type'].includes('object')) || 'properties' in n;

/** The rules each target's tool schemas must follow (README, "Use botc from your agent"). */
const RULES: Partial<Record<string, (schema: Json) => string[]>> = {
  'openai-strict': (schema) => [...nodes(schema)].flatMap(([at, n]) => {
    const problems: string[] = [];
    const allowed = new Set(['type', 'description', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'anyOf', '$ref', '$defs', 'pattern', 'format', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minItems', 'maxItems']);
    for (const key of Object.keys(n)) if (!allowed.has(key)) problems.push(`${at}: unsupported keyword ${key}`);
    if (isObjectNode(n)) {
      if (n['additionalProperties'] !== false) problems.push(`${at}: object not closed`);
      const names = Object.keys((n['properties'] as Json | undefined) ?? {});
      if (JSON.stringify([...(n['required'] as string[] ?? [])].sort()) !== JSON.stringify(names.sort())) problems.push(`${at}: not every property is required`);
    }
    if ('anyOf' in n && Object.keys(n).some((k) => k !== 'anyOf' && k !== 'description')) problems.push(`${at}: anyOf with siblings`);
    return problems;
  }),
  'anthropic-strict': (schema) => [...nodes(schema)].flatMap(([at, n]) => {
    const problems: string[] = [];
    for (const key of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength', 'maxItems', 'oneOf', 'allOf', 'not']) if (key in n) problems.push(`${at}: unsupported ${key}`);
    if (typeof n['minItems'] === 'number' && n['minItems'] > 1) problems.push(`${at}: minItems over 1`);
    if (isObjectNode(n) && n['additionalProperties'] !== false) problems.push(`${at}: object not closed`);
    return problems;
  }),
  gemini: (schema) => [...nodes(schema)].flatMap(([at, n]) => {
    const problems: string[] = [];
    for (const key of ['$schema', 'additionalProperties', 'pattern', 'const', 'oneOf', 'allOf', 'not']) if (key in n) problems.push(`${at}: unsupported ${key}`);
    if (isObjectNode(n) && n['properties'] !== undefined && Object.keys(n['properties'] as Json).length === 0) problems.push(`${at}: empty properties`);
    return problems;
  }),
};

function schemasOf(target: ExportTarget, document: Json): Json[] {
  const tools = document['tools'] as Json[];
  switch (target) {
    case 'openai-responses': return tools.map((t) => t['parameters'] as Json);
    case 'openai-chat': return tools.map((t) => (t['function'] as Json)['parameters'] as Json);
    case 'anthropic': return tools.map((t) => t['input_schema'] as Json);
    case 'gemini': return ((tools[0]!['functionDeclarations']) as Json[]).map((d) => d['parametersJsonSchema'] as Json);
    case 'mcp': return tools.map((t) => t['inputSchema'] as Json);
    default: return [];
  }
}

describe('botc export: every target, style and expert of the example workspace', () => {
  for (const target of EXPORT_TARGETS) {
    for (const style of STYLES) {
      for (const strict of target.startsWith('openai') || target === 'anthropic' ? [false, true] : [false]) {
        it(`${target} ${style}${strict ? ' --strict' : ''}`, () => {
          for (const bundle of bundles) {
            for (const expert of target === 'claude-code' ? [undefined] : bundle.experts.map((e) => e.name)) {
              const result = exportBundle(bundle, { target, style, strict, ...(expert ? { expert } : {}) });
              if (!result.ok) throw new Error(`${bundle.bot.id}/${expert}: ${JSON.stringify(result.problems)}`);
              const rule = target === 'gemini' ? RULES.gemini : strict ? RULES[target === 'anthropic' ? 'anthropic-strict' : 'openai-strict'] : undefined;
              for (const schema of schemasOf(target, result.document)) {
                expect(schema['type']).toBe('object');
                if (rule) expect(rule(schema)).toEqual([]);
              }
              if (strict && target.startsWith('openai')) {
                // OpenAI's own strict preparation accepts the schema and has nothing to change.
                for (const schema of schemasOf(target, result.document)) {
                  const prepared = tool({ name: 'probe', description: 'probe', parameters: schema as never, strict: true, execute: () => '' });
                  expect(prepared.parameters).toEqual(schema);
                }
              }
            }
          }
        });
      }
    }
  }

  it('mcp tools carry annotations from the bundle, and output schemas in the methods style', () => {
    const bundle = bundles.find((b) => b.bot.id === 'support_triage')!;
    const result = exportBundle(bundle, { target: 'mcp', style: 'methods', expert: 'escalation' });
    if (!result.ok) throw new Error('export failed');
    const tools = result.document['tools'] as Json[];
    const post = tools.find((t) => t['name'] === 'notify__slack_chat_post_message_v1')!;
    expect(post['annotations']).toEqual({ readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true });
    expect((post['outputSchema'] as Json)['type']).toBe('object');
    const list = tools.find((t) => t['name'] === 'issues__github_issues_list_v1')!;
    expect(list['annotations']).toMatchObject({ readOnlyHint: true, idempotentHint: true });
    expect(result.document['instructions']).toBe(bundle.experts.find((e) => e.name === 'escalation')!.system_prompt);
  });

  it('claude-code writes one agent file per expert, hyphen-case, whose tools are mcp__<server>__<tool> names', () => {
    const bundle = bundles.find((b) => b.bot.id === 'support_triage')!;
    const result = exportBundle(bundle, { target: 'claude-code', bundlePath: 'dist/support_triage.bundle.json' });
    if (!result.ok) throw new Error('export failed');
    const files = result.document['files'] as Record<string, string>;
    expect(Object.keys(files).sort()).toEqual(['.claude/agents/escalation.md', '.claude/agents/reply-writer.md', '.claude/agents/triager.md', '.mcp.json']);
    expect(files['.claude/agents/reply-writer.md']).toMatch(/^---\nname: reply-writer\ndescription: ".+"\ntools: \n---\n/);
    expect(files['.claude/agents/triager.md']).toMatch(/^---\nname: triager\ndescription: ".+"\ntools: mcp__triager__issues, mcp__triager__status\n---\n/);
    expect(JSON.parse(files['.mcp.json']!).mcpServers['triager'].args).toEqual(['botc', 'serve', 'mcp', 'dist/support_triage.bundle.json', '--expert', 'triager', '--style', 'envelope']);
    expect(hyphenCase('reply_writer')).toBe('reply-writer');
  });

  it('a name over the target limit or a collision is an error naming both', () => {
    const bundle = structuredClone(bundles.find((b) => b.bot.id === 'support_triage')!);
    const issues = bundle.tools.find((t) => t.name === 'issues')!;
    issues.name = 'issues_of_the_platform_repositories_for_triage';
    for (const e of bundle.experts) e.tools = e.tools.map((t) => (t === 'issues' ? issues.name : t));
    const long = exportBundle(bundle, { target: 'openai-responses', style: 'methods', expert: 'triager' });
    expect(long.ok).toBe(false);
    expect(JSON.stringify(!long.ok && long.problems)).toMatch(/is 7\d characters; openai-responses allows 64/);
    const prefixed = exportBundle(bundles.find((b) => b.bot.id === 'support_triage')!, { target: 'claude-code', style: 'methods', server: 'a-rather-long-server-name-for-this' });
    expect(!prefixed.ok && prefixed.problems[0]!.message).toMatch(/mcp__a-rather-long-server-name-for-this__issues__github_issues_list_v1.*allows 64/);
    const twin = structuredClone(bundles.find((b) => b.bot.id === 'support_triage')!);
    twin.tools.push({ ...twin.tools.find((t) => t.name === 'status')!, name: 'STATUS' });
    twin.experts.find((e) => e.name === 'triager')!.tools.push('STATUS');
    const collision = exportBundle(twin, { target: 'openai-chat', expert: 'triager' });
    expect(!collision.ok && collision.problems[0]!.message).toMatch(/`STATUS` \(tool STATUS\) collides with tool status/);
  });

  it('--strict is refused for a target without a strict mode; an unknown expert is named', () => {
    const bundle = bundles[0]!;
    expect(exportBundle(bundle, { target: 'gemini', strict: true })).toMatchObject({ ok: false, problems: [{ subject: 'target' }] });
    expect(exportBundle(bundle, { target: 'mcp', expert: 'nobody' })).toMatchObject({ ok: false, problems: [{ subject: 'expert', message: expect.stringMatching(/has no expert `nobody`; experts: /) }] });
  });
});

/** A valid value for a schema, built from its examples, enum, const, default or bounds. */
function sample(schema: Json, root: Json): unknown {
  if (typeof schema['$ref'] === 'string') return sample((schema['$ref'] as string).slice(2).split('/').reduce<unknown>((n, k) => (n as Json)[k], root) as Json, root);
  if ('const' in schema) return schema['const'];
  if (Array.isArray(schema['examples'])) return schema['examples'][0];
  if (Array.isArray(schema['enum'])) return schema['enum'][0];
  if ('default' in schema) return schema['default'];
  const type = Array.isArray(schema['type']) ? schema['type'][0] : schema['type'];
  switch (type) {
    case 'string': return 'x'.repeat(Math.max(1, (schema['minLength'] as number | undefined) ?? 1));
    case 'integer': case 'number': return (schema['minimum'] as number | undefined) ?? 1;
    case 'boolean': return true;
    case 'array': return schema['items'] ? [sample(schema['items'] as Json, root)] : [];
    case 'object': {
      const props = (schema['properties'] ?? {}) as Json;
      return Object.fromEntries(((schema['required'] as string[] | undefined) ?? []).map((k) => [k, sample(props[k] as Json, root)]));
    }
    default: return 'x';
  }
}

describe('the reverse mapping of strict-mode calls', () => {
  it('a strict-mode model call maps back to the real params, property by property, for every method of the example workspace', () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    let checked = 0;
    for (const bundle of bundles) {
      for (const expert of bundle.experts) {
        for (const style of STYLES) {
          for (const fn of expertFunctions(bundle, expert, style)) {
            const methods = fn.origin.method_id ? [fn.origin.method_id] : bundle.tools.find((t) => t.name === fn.origin.tool)!.methods;
            for (const id of methods) {
              const spec = bundle.methods[id]!;
              const input = spec.input_schema as Json;
              const props = Object.keys((input['properties'] ?? {}) as Json);
              const required = new Set((input['required'] as string[] | undefined) ?? []);
              const base = sample(input, input) as Json;
              for (const prop of [undefined, ...props.filter((p) => !required.has(p))]) {
                const params = prop === undefined ? base : { ...base, [prop]: sample((input['properties'] as Json)[prop] as Json, input) };
                expect(ajv.validate(input, params), `${id} ${prop}: ${JSON.stringify(ajv.errors)}`).toBe(true);
                // What a strict-mode model sends: every optional property present, `null` when unused.
                const sent = Object.fromEntries(props.map((p) => [p, p in params ? params[p] : null]));
                const call = style === 'methods'
                  ? mapFunctionCall(bundle, expert, style, fn.name, sent)
                  : mapFunctionCall(bundle, expert, style, fn.name, { op: 'call', args: { method_id: id, params: sent, cursor: null, dry_run: null, idempotency_key: null } });
                expect(call).toEqual({ tool: fn.origin.tool, op: 'call', args: { method_id: id, params } });
                checked++;
              }
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('non-call ops map with no args; an unknown function is undefined', () => {
    const bundle = bundles.find((b) => b.bot.id === 'support_triage')!;
    const expert = bundle.experts.find((e) => e.name === 'triager')!;
    expect(mapFunctionCall(bundle, expert, 'envelope', 'issues', { op: 'help', args: null })).toEqual({ tool: 'issues', op: 'help' });
    expect(mapFunctionCall(bundle, expert, 'envelope', 'notify', { op: 'help' })).toBeUndefined();
  });
});

describe('botc export on the command line', () => {
  it('prints the document for a built bundle, and exits 1 naming the problem', async () => {
    const out = { text: '', err: '' };
    const io = { stdout: (t: string) => void (out.text += t), stderr: (t: string) => void (out.err += t), isTty: false, env: {} };
    const dist = path.join(REPO_ROOT, '.test-work', `export-${process.pid}`);
    await build({ root: REPO_ROOT, out: dist });
    const file = path.join(dist, 'support_triage.bundle.json');
    expect(await main(['export', file, '--target', 'openai-responses', '--expert', 'triager', '--strict'], io)).toBe(0);
    expect((JSON.parse(out.text) as { tools: unknown[] }).tools).toHaveLength(JSON.parse(readFileSync(file, 'utf8')).experts.find((e: { name: string }) => e.name === 'triager').tools.length);
    expect(await main(['export', file, '--target', 'anthropic'], io)).toBe(1);
    expect(out.err).toMatch(/has 3 experts: pass --expert/);
    expect(await main(['export', file, '--target', 'nope'], io)).toBe(2);
  });
});
