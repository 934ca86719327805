import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Bundle } from '../bundle/format.ts';
import type { Diagnostics } from '../diagnostics/diagnostic.ts';
import { didYouMean, listNames } from '../diagnostics/hints.ts';
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
      if (read.kind === 'encoding') diagnostics.report('file-encoding', { file, at: read.at, message: `${file} cannot be read: ${describeReadFailure(read)}`, hint: 'save it as UTF-8' });
      else diagnostics.report('unsafe-path', { file, message: `${file} cannot be read: ${describeReadFailure(read)}`, hint: 'make it a regular file inside the workspace' });
      continue;
    }
    const parsed = parseJson(read.text);
    if (!parsed.ok) {
      diagnostics.report('json-syntax', { file, at: parsed.at, message: `${file} is not valid JSON: ${parsed.message}`, hint: 'fix the JSON syntax at this place' });
      continue;
    }
    const { document } = parsed;
    const problem = (at: (string | number)[], message: string, hint: string, key?: string) =>
      diagnostics.report('automation-invalid', { file, at: key === undefined ? document.locate(at) : document.locate(at, key), message, hint });
    const result = automationSchema.safeParse(document.value);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const where = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      const what = issue.code === 'unrecognized_keys' ? `unknown key ${issue.keys.map((k) => `\`${clip(k)}\``).join(', ')}` : issueMessage(issue, { value: document.value });
      const hint = where[0] === 'on' ? `the events are ${listNames([...EVENT_TYPES])}` : 'an automation is {"on", "filter"?, "propose": {"bot", "expert", "tool", "method_id", "params"}}';
      // An unknown key is shown at the key itself.
      problem(where, `${where.join('.') || 'the automation'}: ${what}`, hint, issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined);
      continue;
    }
    const { propose } = result.data;
    const bundle = byBot.get(propose.bot);
    if (!bundle) {
      if (everyBot) problem(['propose', 'bot'], `\`propose.bot\` names \`${clip(propose.bot)}\`, which is no bot of the workspace`, didYouMean(propose.bot, byBot.keys()) ?? `bots: ${listNames([...byBot.keys()].sort())}`);
      continue;
    }
    const expert = bundle.experts.find((e) => e.name === propose.expert);
    if (!expert) {
      const experts = bundle.experts.map((e) => e.name);
      problem(['propose', 'expert'], `bot \`${bundle.bot.id}\` has no expert \`${clip(propose.expert)}\``, didYouMean(propose.expert, experts) ?? `experts: ${listNames(experts)}`);
      continue;
    }
    if (!expert.tools.includes(propose.tool)) {
      problem(['propose', 'tool'], `expert \`${expert.name}\` may not use a tool \`${clip(propose.tool)}\``, didYouMean(propose.tool, expert.tools) ?? `its tools: ${listNames(expert.tools)}`);
      continue;
    }
    const tool = bundle.tools.find((t) => t.name === propose.tool)!;
    if (!tool.methods.includes(propose.method_id)) {
      problem(['propose', 'method_id'], `tool \`${tool.name}\` has no method \`${clip(propose.method_id)}\``, didYouMean(propose.method_id, tool.methods) ?? `its methods: ${listNames(tool.methods)}`);
      continue;
    }
    const spec = bundle.methods[propose.method_id]!;
    const governance = govern(spec, bundle.integrations[spec.provider]!);
    if (!governance.ok || governance.kind !== 'outbound_write') {
      problem(
        ['propose', 'method_id'],
        `\`${propose.method_id}\` is not an outbound write: an automation only proposes writes that a person confirms, and anything else would run on its own`,
        `propose a method with a write capability; ${tool.name}'s methods: ${listNames(tool.methods)}`,
      );
      continue;
    }
    const invalid = validators.check(spec.input_schema, propose.params);
    if (invalid) problem(['propose', 'params'], `\`propose.params\` do not match the input schema of ${propose.method_id}: ${invalid}`, `\`botc help\` of tool ${tool.name} shows the method's parameters`);
  }
}
