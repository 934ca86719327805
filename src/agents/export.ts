import type { Bundle, BundleExpert } from '../bundle/format.ts';
import { expertFunctions, findExpert, type AgentFunction, type ToolStyle } from './functions.ts';
import { toAnthropicStrict, toGemini, toOpenAIStrict, toPlainJsonSchema, type Rewritten } from './schema-rewrite.ts';

/** The agent runtimes `botc export` writes tool definitions for. */
export const EXPORT_TARGETS = ['openai-responses', 'openai-chat', 'anthropic', 'gemini', 'mcp', 'claude-code'] as const;
export type ExportTarget = (typeof EXPORT_TARGETS)[number];

export interface ExportOptions {
  target: ExportTarget;
  /** The expert whose tools and prompt are exported; may be omitted when the bot has one (all experts for `claude-code`). */
  expert?: string;
  style?: ToolStyle;
  /** The target's strict mode (OpenAI, Anthropic). Refused for targets without one. */
  strict?: boolean;
  /** The MCP server name clients will use (`claude-code` tool names are `mcp__<server>__<tool>`). Default: the expert's hyphen-case name. */
  server?: string;
  /** The bundle path to put in generated MCP client configuration (`claude-code`). */
  bundlePath?: string;
}

/** Something that keeps a bundle from being exported for a target, with where it is. */
export interface ExportProblem {
  /** What it concerns: a function name, or `expert`, or `target`. */
  subject: string;
  message: string;
}

export type ExportResult = { ok: true; document: Record<string, unknown> } | { ok: false; problems: ExportProblem[] };

/**
 * Names and limits each target enforces on functions. A client may prefix tool names
 * (Claude Code shows an MCP tool as `mcp__<server>__<tool>`), so the prefix counts too.
 */
const NAME_RULES: Record<ExportTarget, { pattern: RegExp; max: number; descriptionMax?: number }> = {
  'openai-responses': { pattern: /^[a-zA-Z0-9_-]+$/, max: 64, descriptionMax: 1024 },
  'openai-chat': { pattern: /^[a-zA-Z0-9_-]+$/, max: 64, descriptionMax: 1024 },
  anthropic: { pattern: /^[a-zA-Z0-9_-]+$/, max: 64 },
  gemini: { pattern: /^[a-zA-Z_][a-zA-Z0-9_.:-]*$/, max: 64 },
  mcp: { pattern: /^[a-zA-Z0-9_.-]+$/, max: 128 },
  'claude-code': { pattern: /^[a-zA-Z0-9_-]+$/, max: 64 },
};

const STRICT_TARGETS = new Set<ExportTarget>(['openai-responses', 'openai-chat', 'anthropic']);

/**
 * Tool definitions of one expert for one agent runtime, in that runtime's own shape, with
 * schemas rewritten to what the runtime accepts. Pure: reads the bundle, returns a document.
 */
export function exportBundle(bundle: Bundle, options: ExportOptions): ExportResult {
  const style = options.style ?? 'envelope';
  if (options.strict && !STRICT_TARGETS.has(options.target)) {
    return fail('target', `${options.target} has no strict mode; drop --strict`);
  }
  if (options.target === 'claude-code') return exportClaudeCode(bundle, options, style);
  const expert = findExpert(bundle, options.expert);
  if (typeof expert === 'string') return fail('expert', expert);
  const functions = expertFunctions(bundle, expert, style);
  const problems = checkNames(functions, options.target, '');
  const converted = functions.map((fn) => ({ fn, input: rewrite(fn.inputSchema, options) }));
  for (const { fn, input } of converted) {
    for (const p of input.problems) problems.push({ subject: fn.name, message: `${p.pointer === '' ? 'input' : `input ${p.pointer}`}: ${p.message}` });
  }
  if (problems.length > 0) return { ok: false, problems };
  const strict = options.strict === true;
  switch (options.target) {
    case 'openai-responses':
      return { ok: true, document: { tools: converted.map(({ fn, input }) => ({ type: 'function', name: fn.name, description: fn.description, parameters: input.schema, strict })) } };
    case 'openai-chat':
      return { ok: true, document: { tools: converted.map(({ fn, input }) => ({ type: 'function', function: { name: fn.name, description: fn.description, parameters: input.schema, strict } })) } };
    case 'anthropic':
      return {
        ok: true,
        document: { system: expert.system_prompt, tools: converted.map(({ fn, input }) => ({ name: fn.name, description: fn.description, input_schema: input.schema, ...(strict ? { strict: true } : {}) })) },
      };
    case 'gemini':
      return {
        ok: true,
        document: {
          systemInstruction: { parts: [{ text: expert.system_prompt }] },
          tools: [{ functionDeclarations: converted.map(({ fn, input }) => ({ name: fn.name, description: fn.description, parametersJsonSchema: input.schema })) }],
        },
      };
    case 'mcp':
      return { ok: true, document: { instructions: expert.system_prompt, tools: functions.map((fn) => mcpTool(fn)) } };
  }
}

/** An MCP Tool object: schemas whole (MCP takes JSON Schema 2020-12), annotations from the bundle. */
export function mcpTool(fn: AgentFunction): Record<string, unknown> {
  return {
    name: fn.name,
    description: fn.description,
    inputSchema: toPlainJsonSchema(fn.inputSchema),
    ...(fn.outputSchema ? { outputSchema: toPlainJsonSchema(fn.outputSchema) } : {}),
    annotations: {
      readOnlyHint: fn.effects.readOnly,
      destructiveHint: fn.effects.destructive,
      idempotentHint: fn.effects.idempotent,
      openWorldHint: true,
    },
  };
}

function rewrite(schema: Record<string, unknown>, options: ExportOptions): Rewritten {
  if (options.target === 'gemini') return toGemini(schema);
  if (options.strict && options.target === 'anthropic') return toAnthropicStrict(schema);
  if (options.strict) return toOpenAIStrict(schema);
  return { schema: toPlainJsonSchema(schema), problems: [] };
}

function checkNames(functions: AgentFunction[], target: ExportTarget, prefix: string): ExportProblem[] {
  const rule = NAME_RULES[target];
  const problems: ExportProblem[] = [];
  const seen = new Map<string, string>();
  for (const fn of functions) {
    const full = `${prefix}${fn.name}`;
    const origin = fn.origin.method_id ? `method ${fn.origin.method_id} of tool ${fn.origin.tool}` : `tool ${fn.origin.tool}`;
    if (full.length > rule.max) problems.push({ subject: fn.name, message: `the name \`${full}\` (${origin}) is ${full.length} characters; ${target} allows ${rule.max}: shorten the tool name or use --style envelope` });
    if (!rule.pattern.test(full)) problems.push({ subject: fn.name, message: `the name \`${full}\` (${origin}) breaks ${target}'s name pattern ${rule.pattern.source}` });
    const key = full.toLowerCase();
    const other = seen.get(key);
    if (other) problems.push({ subject: fn.name, message: `the name \`${full}\` (${origin}) collides with ${other}` });
    else seen.set(key, origin);
    if (rule.descriptionMax !== undefined && fn.description.length > rule.descriptionMax) {
      problems.push({ subject: fn.name, message: `the description of ${origin} is ${fn.description.length} characters; ${target} allows ${rule.descriptionMax}` });
    }
  }
  return problems;
}

/**
 * Claude Code subagents: `.claude/agents/<expert>.md` per expert (hyphen-case names), whose
 * `tools` are the expert's functions as Claude Code names MCP tools (`mcp__<server>__<tool>`),
 * and a `.mcp.json` that starts `botc serve mcp` for each expert's server.
 */
function exportClaudeCode(bundle: Bundle, options: ExportOptions, style: ToolStyle): ExportResult {
  const experts: BundleExpert[] = [];
  if (options.expert === undefined) experts.push(...bundle.experts);
  else {
    const expert = findExpert(bundle, options.expert);
    if (typeof expert === 'string') return fail('expert', expert);
    experts.push(expert);
  }
  const files: Record<string, string> = {};
  const servers: Record<string, unknown> = {};
  const problems: ExportProblem[] = [];
  for (const expert of experts) {
    const agent = hyphenCase(expert.name);
    // Each expert is its own MCP server; its name is short because Claude Code prefixes every tool with it.
    const server = options.server ?? agent;
    const functions = expertFunctions(bundle, expert, style);
    problems.push(...checkNames(functions, 'claude-code', `mcp__${server}__`));
    const front = [
      '---',
      `name: ${agent}`,
      `description: ${JSON.stringify(expert.description)}`,
      `tools: ${functions.map((fn) => `mcp__${server}__${fn.name}`).join(', ')}`,
      '---',
      '',
    ].join('\n');
    files[`.claude/agents/${agent}.md`] = `${front}${expert.system_prompt}`;
    servers[server] = {
      command: 'npx',
      args: ['botc', 'serve', 'mcp', options.bundlePath ?? `dist/${bundle.bot.id}.bundle.json`, '--expert', expert.name, '--style', style],
    };
  }
  if (problems.length > 0) return { ok: false, problems };
  files['.mcp.json'] = `${JSON.stringify({ mcpServers: servers }, null, 2)}\n`;
  return { ok: true, document: { files } };
}

/** `reply_writer` → `reply-writer`: Claude Code agent names are lower-case with hyphens. */
export function hyphenCase(name: string): string {
  return name.replace(/_/g, '-');
}

function fail(subject: string, message: string): ExportResult {
  return { ok: false, problems: [{ subject, message }] };
}
