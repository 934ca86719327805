import { DIAGNOSTICS, type DiagnosticParams } from '../diagnostics/registry.ts';
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
  /** The `automation-invalid` diagnostic's parameters (src/diagnostics/registry.ts words them). */
  params: DiagnosticParams<'automation-invalid'>;
  /** The problem in words, as the diagnostic's message. */
  message: string;
}

function problemAt(at: (string | number)[], params: DiagnosticParams<'automation-invalid'>): ProposalProblem {
  return { at, params, message: DIAGNOSTICS['automation-invalid'].message(params) };
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
    return problemAt(['propose', 'expert'], { variant: 'expert', bot: bundle.bot.id, expert: clip(propose.expert), suggestion: didYouMean(propose.expert, experts) ?? `experts: ${listNames(experts)}` });
  }
  if (!expert.tools.includes(propose.tool)) {
    return problemAt(['propose', 'tool'], { variant: 'tool', expert: expert.name, tool: clip(propose.tool), suggestion: didYouMean(propose.tool, expert.tools) ?? `its tools: ${listNames(expert.tools)}` });
  }
  const tool = bundle.tools.find((t) => t.name === propose.tool)!;
  if (!tool.methods.includes(propose.method_id)) {
    return problemAt(['propose', 'method_id'], { variant: 'method', tool: tool.name, method: clip(propose.method_id), suggestion: didYouMean(propose.method_id, tool.methods) ?? `its methods: ${listNames(tool.methods)}` });
  }
  const spec = bundle.methods[propose.method_id]!;
  const governance = govern(spec, bundle.integrations[spec.provider]!);
  if (!governance.ok || governance.kind !== 'outbound_write') {
    return problemAt(['propose', 'method_id'], { variant: 'not-write', method: propose.method_id, tool: tool.name, methods: tool.methods });
  }
  const invalid = validators.check(spec.input_schema, propose.params);
  if (invalid) return problemAt(['propose', 'params'], { variant: 'params', method: propose.method_id, tool: tool.name, detail: invalid });
  return undefined;
}
