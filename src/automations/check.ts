import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Bundle } from '../bundle/format.ts';
import type { Diagnostics } from '../diagnostics/diagnostic.ts';
import { didYouMean, listNames } from '../diagnostics/hints.ts';
import type { DiagnosticParams } from '../diagnostics/registry.ts';
import { describeReadFailure, type WorkspaceFiles } from '../load/files.ts';
import { parseJson } from '../load/json.ts';
import { govern } from '../runtime/governance.ts';
import { Validators } from '../runtime/validators.ts';
import { clip, issueMessage } from '../schema/common.ts';

/** The internal events an automation can react to. */
export const EVENT_TYPES = ['review.approved', 'sync.completed', 'webhook.received', 'confirmation.executed'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The folder of automation files, at the workspace root. */
export const AUTOMATIONS_DIR = 'automations';

/**
 * `automations/<name>.json`: on an internal event (`on`) whose payload has every `filter`
 * field equal, propose one outbound write (`propose`) that a person must confirm. An
 * automation never executes anything itself. See docs/oauth-and-automations.md.
 */
export const automationSchema = z.strictObject({
  $schema: z.string().optional(),
  on: z.enum(EVENT_TYPES),
  filter: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}),
  propose: z.strictObject({
    bot: z.string().min(1),
    expert: z.string().min(1),
    tool: z.string().min(1),
    method_id: z.string().min(1),
    params: z.record(z.string(), z.unknown()).default({}),
  }),
});

export type Automation = z.infer<typeof automationSchema>;

/** True when the workspace has an `automations/` folder (or anything by that name to report). */
export function hasAutomations(files: WorkspaceFiles): boolean {
  return existsSync(files.absolute(AUTOMATIONS_DIR));
}

/**
 * Checks every `automations/*.json` against the bundles the build assembled: the bot, the
 * expert, a tool the expert may use, a method of that tool that is an outbound write (anything
 * else would run without a person's approval), and the params against the method's input
 * schema. Each mistake is one `automation-invalid` diagnostic at its place, with "did you
 * mean" where a name is close. With `everyBot` false (a `--bot` build) an automation for a bot
 * that was not built is skipped, not reported.
 */
export function checkAutomations(files: WorkspaceFiles, diagnostics: Diagnostics, bundles: readonly Bundle[], everyBot: boolean): void {
  let names: string[];
  try {
    names = readdirSync(files.absolute(AUTOMATIONS_DIR), { withFileTypes: true })
      .filter((entry) => entry.name.endsWith('.json'))
      .map((entry) => entry.name)
      .sort();
  } catch {
    return; // no automations folder: most workspaces have none
  }
  const validators = new Validators();
  const byBot = new Map(bundles.map((b) => [b.bot.id, b]));
  for (const name of names) {
    const file = path.posix.join(AUTOMATIONS_DIR, name);
    const read = files.read(file);
    if (!read.ok) {
      if (read.kind === 'encoding') diagnostics.add('file-encoding', { file, at: read.at }, { variant: 'automation', file, failure: describeReadFailure(read) });
      else diagnostics.add('unsafe-path', { file }, { variant: 'automation', file, failure: describeReadFailure(read) });
      continue;
    }
    const parsed = parseJson(read.text);
    if (!parsed.ok) {
      diagnostics.add('json-syntax', { file, at: parsed.at }, { variant: 'automation', file, detail: parsed.message });
      continue;
    }
    const { document } = parsed;
    const problem = (at: (string | number)[], params: DiagnosticParams<'automation-invalid'>, key?: string) =>
      diagnostics.add('automation-invalid', { file, at: key === undefined ? document.locate(at) : document.locate(at, key) }, params);
    const result = automationSchema.safeParse(document.value);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const where = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      const what = issue.code === 'unrecognized_keys' ? `unknown key ${issue.keys.map((k) => `\`${clip(k)}\``).join(', ')}` : issueMessage(issue, { value: document.value });
      const hint = where[0] === 'on' ? `the events are ${listNames([...EVENT_TYPES])}` : 'an automation is {"on", "filter"?, "propose": {"bot", "expert", "tool", "method_id", "params"}}';
      // An unknown key is shown at the key itself.
      problem(where, { variant: 'issue', where: where.join('.') || 'the automation', detail: what, hint }, issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined);
      continue;
    }
    const { propose } = result.data;
    const bundle = byBot.get(propose.bot);
    if (!bundle) {
      if (everyBot) problem(['propose', 'bot'], { variant: 'bot', bot: clip(propose.bot), suggestion: didYouMean(propose.bot, byBot.keys()) ?? `bots: ${listNames([...byBot.keys()].sort())}` });
      continue;
    }
    const expert = bundle.experts.find((e) => e.name === propose.expert);
    if (!expert) {
      const experts = bundle.experts.map((e) => e.name);
      problem(['propose', 'expert'], { variant: 'expert', bot: bundle.bot.id, expert: clip(propose.expert), suggestion: didYouMean(propose.expert, experts) ?? `experts: ${listNames(experts)}` });
      continue;
    }
    if (!expert.tools.includes(propose.tool)) {
      problem(['propose', 'tool'], { variant: 'tool', expert: expert.name, tool: clip(propose.tool), suggestion: didYouMean(propose.tool, expert.tools) ?? `its tools: ${listNames(expert.tools)}` });
      continue;
    }
    const tool = bundle.tools.find((t) => t.name === propose.tool)!;
    if (!tool.methods.includes(propose.method_id)) {
      problem(['propose', 'method_id'], { variant: 'method', tool: tool.name, method: clip(propose.method_id), suggestion: didYouMean(propose.method_id, tool.methods) ?? `its methods: ${listNames(tool.methods)}` });
      continue;
    }
    const spec = bundle.methods[propose.method_id]!;
    const governance = govern(spec, bundle.integrations[spec.provider]!);
    if (!governance.ok || governance.kind !== 'outbound_write') {
      problem(['propose', 'method_id'], { variant: 'not-write', method: propose.method_id, tool: tool.name, methods: tool.methods });
      continue;
    }
    const invalid = validators.check(spec.input_schema, propose.params);
    if (invalid) problem(['propose', 'params'], { variant: 'params', method: propose.method_id, tool: tool.name, detail: invalid });
  }
}
