import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Bundle } from '../bundle/format.ts';
import type { Diagnostics } from '../diagnostics/diagnostic.ts';
import { didYouMean, listNames } from '../diagnostics/hints.ts';
import type { DiagnosticParams } from '../diagnostics/registry.ts';
import { describeReadFailure, type WorkspaceFiles } from '../load/files.ts';
import { parseJson } from '../load/json.ts';
import { Validators } from '../runtime/validators.ts';
import { clip, issueMessage } from '../schema/common.ts';
import { AUTOMATIONS_DIR, automationSchema, EVENT_TYPES, proposalProblem } from './proposal.ts';

export { AUTOMATIONS_DIR, automationSchema, EVENT_TYPES, type Automation, type EventType } from './proposal.ts';

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
    const found = proposalProblem(propose, bundle, validators);
    if (found) problem(found.at, found.params);
  }
}
