import { z } from 'zod';
import type { Bundle } from '../bundle/format.ts';
import { didYouMean, listNames } from '../diagnostics/hints.ts';
import { govern } from '../runtime/governance.ts';
import type { Validators } from '../runtime/validators.ts';
import { clip } from '../schema/common.ts';
import { EVENT_TYPES } from '../state/events.ts';

export { EVENT_TYPES, type EventType } from '../state/events.ts';

/** The folder of automation files, at the workspace root. */
export const AUTOMATIONS_DIR = 'automations';

/**
 * `automations/<name>.json`: on an internal event (`on`) whose payload has every `filter`
 * field equal, propose one outbound write (`propose`) that a person must confirm: `approver`
 * names that person (without it, the deployment must let any person of the tenant approve).
 * An automation never executes anything itself. See docs/oauth-and-automations.md.
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
  approver: z.string().min(1).max(200).optional(),
});

export type Automation = z.infer<typeof automationSchema>;

/** What is wrong with a proposal for a bundle: where (a path into the automation), what, and how to fix it. */
export interface ProposalProblem {
  at: (string | number)[];
  message: string;
  hint: string;
}

/**
 * Checks an automation's proposal against the bundle of its bot: the expert, a tool the expert
 * may use, a method of that tool that is an outbound write (anything else would run without a
 * person's approval), and the params against the method's input schema. The build reports the
 * problem as `automation-invalid`; `botc automations run` refuses to run such an automation.
 */
export function proposalProblem(propose: Automation['propose'], bundle: Bundle, validators: Validators): ProposalProblem | undefined {
  const expert = bundle.experts.find((e) => e.name === propose.expert);
  if (!expert) {
    const experts = bundle.experts.map((e) => e.name);
    return { at: ['propose', 'expert'], message: `bot \`${bundle.bot.id}\` has no expert \`${clip(propose.expert)}\``, hint: didYouMean(propose.expert, experts) ?? `experts: ${listNames(experts)}` };
  }
  if (!expert.tools.includes(propose.tool)) {
    return { at: ['propose', 'tool'], message: `expert \`${expert.name}\` may not use a tool \`${clip(propose.tool)}\``, hint: didYouMean(propose.tool, expert.tools) ?? `its tools: ${listNames(expert.tools)}` };
  }
  const tool = bundle.tools.find((t) => t.name === propose.tool)!;
  if (!tool.methods.includes(propose.method_id)) {
    return { at: ['propose', 'method_id'], message: `tool \`${tool.name}\` has no method \`${clip(propose.method_id)}\``, hint: didYouMean(propose.method_id, tool.methods) ?? `its methods: ${listNames(tool.methods)}` };
  }
  const spec = bundle.methods[propose.method_id]!;
  const governance = govern(spec, bundle.integrations[spec.provider]!);
  if (!governance.ok || governance.kind !== 'outbound_write') {
    return {
      at: ['propose', 'method_id'],
      message: `\`${propose.method_id}\` is not an outbound write: an automation only proposes writes that a person confirms, and anything else would run on its own`,
      hint: `propose a method with a write capability; ${tool.name}'s methods: ${listNames(tool.methods)}`,
    };
  }
  const invalid = validators.check(spec.input_schema, propose.params);
  if (invalid) return { at: ['propose', 'params'], message: `\`propose.params\` do not match the input schema of ${propose.method_id}: ${invalid}`, hint: `\`botc help\` of tool ${tool.name} shows the method's parameters` };
  return undefined;
}
