// Over 300 lines: the whole dispatch order, each step beside the next, reads in one file.
import type { ErrorCode, IntegrationResult } from '../integration/types.ts';
import { TOOL_OPS } from '../tools/envelope.ts';
import { help, listMethods, listProviders } from '../tools/ops.ts';
import { approverFor, proposeWrite } from './confirmations.ts';
import type { Credential } from '../integration/credentials.ts';
import { checkScopes, type CredentialCheck } from './scopes.ts';
import { sealNextCursor } from './cursors.ts';
import { elapsed, problemsOf, type CallRecord, type Invocation, type MethodPlan } from './executor.ts';
import type { CallKind } from './governance.ts';
import { keyedCall } from './idempotency.ts';
import { queueImport, withheldImport } from './imports.ts';
import { paramsProblem, type CallArgs } from './params.ts';
import type { RuntimeParts, ToolEntry } from './parts.ts';
import { emptyMeta, errorResult, okResult } from './results.ts';
import { toolStatus } from './status.ts';

/** The fields of a tool call the steps read (a bounded `ToolCall`, runtime.ts). */
export interface DispatchCall {
  expert: string;
  tool: string;
  op: string;
  args?: unknown;
  approver?: string;
}

/**
 * One call on its way through the steps. `stage` says who asks: a tool call (`call`), or a
 * person's confirmation of a stored write (`confirm`), which runs some of the same steps with
 * the stored expert, tool and args. Steps fill in what they establish (`tool`, `args`, `plan`,
 * `credential`) for the steps after them.
 */
export interface CallContext {
  readonly stage: 'call' | 'confirm';
  readonly call: DispatchCall;
  readonly tenant: string;
  readonly traceId: string;
  /** `performance.now()` when the call entered the runtime. */
  readonly started: number;
  /** What the audit entry of this call will record besides its outcome. */
  readonly record: CallRecord;
  tool: ToolEntry | undefined;
  args: CallArgs | undefined;
  plan: MethodPlan | undefined;
  credential: Credential | undefined;
  /**
   * How the caller finishes the call (a tool call writes its audit entry), when it lets the
   * governed call do that itself as the integration answers (`Invocation.deliver`): set before
   * dispatch; `delivers` says whether the last step took it over. The caller clears it when
   * dispatch returned without taking it, so that it is never used twice.
   */
  deliver?: Invocation['deliver'] | undefined;
  delivers?: boolean;
}

/** Why a step stops a call: a closed error code and a message for the caller. */
export interface Refusal {
  code: ErrorCode;
  message: string;
}

/** What a step answers: nothing (go on), a refusal, or the call's final result. */
export type StepOutcome = Refusal | IntegrationResult | undefined;

/** One named step of dispatch. Synchronous unless it has to wait (credentials, the integration). */
export interface Step {
  readonly name: string;
  /** The last step: what it answers is the call's result as it leaves dispatch (refusals included). */
  readonly terminal?: true;
  run(parts: RuntimeParts, ctx: CallContext): StepOutcome | Promise<StepOutcome>;
}

/** A new context for a tool call (stage `call`), before any step ran. */
export function callContext(call: DispatchCall, tenant: string, traceId: string, started: number, record: CallRecord, deliver?: Invocation['deliver']): CallContext {
  // Every field set here, in one order: the steps read contexts of one shape.
  return { stage: 'call', call, tenant, traceId, started, record, tool: undefined, args: undefined, plan: undefined, credential: undefined, deliver, delivers: false };
}

const expertMayUseTool: Step = {
  name: 'expert_may_use_tool',
  run(parts, ctx) {
    const { expert, tool: name } = ctx.call;
    const allowed = parts.expertTools.get(expert);
    const tool = parts.tools.get(name);
    if (allowed && tool && allowed.has(name)) {
      ctx.tool = tool;
      return undefined;
    }
    if (ctx.stage === 'confirm') return noLongerAllowed(ctx);
    return { code: 'TOOL_NOT_ALLOWED', message: !allowed ? `bot ${parts.bundle.bot.id} has no expert \`${expert}\`` : `expert \`${expert}\` may not use tool \`${name}\`` };
  },
};

const OPS: ReadonlySet<string> = new Set(TOOL_OPS);

const opExists: Step = {
  name: 'op_exists',
  run(_parts, ctx) {
    if (OPS.has(ctx.call.op)) return undefined;
    return { code: 'UNKNOWN_OP', message: `tool \`${ctx.tool!.name}\` has no op \`${String(ctx.call.op).slice(0, 40)}\`; ops: ${TOOL_OPS.join(', ')}` };
  },
};

const approverNamesOnePerson: Step = {
  name: 'approver_names_one_person',
  run(_parts, ctx) {
    if (ctx.call.approver === undefined) return undefined;
    const approver = approverFor(ctx.call.approver, false);
    return 'problem' in approver ? { code: 'VALIDATION_FAILED', message: approver.problem } : undefined;
  },
};

/** `help`, `status`, `list_methods` and `list_providers` take no args and answer here; `call` goes on. */
const answerInfoOp: Step = {
  name: 'answer_info_op',
  // Synchronous unless it has to wait (`status`): a promise here would cost every `call` a hop.
  run(parts, ctx) {
    const { op, args } = ctx.call;
    if (op === 'call') return undefined;
    if (args !== undefined && args !== null && !isEmptyObject(args)) return { code: 'VALIDATION_FAILED', message: `op \`${op}\` takes no args` };
    const tool = ctx.tool!;
    if (op === 'status') return toolStatus(parts, tool, ctx.tenant).then((data) => okResult(data, stepMeta(ctx)));
    const data = op === 'help' ? help(parts.bundle, tool) : op === 'list_methods' ? listMethods(parts.bundle, tool) : listProviders(parts.bundle, tool);
    return okResult(data, stepMeta(ctx));
  },
};

const argsMatchEnvelope: Step = {
  name: 'args_match_envelope',
  run(_parts, ctx) {
    const args = ctx.tool!.args.parse(ctx.call.args);
    if (typeof args === 'string') return { code: 'VALIDATION_FAILED', message: args };
    ctx.args = args;
    return undefined;
  },
};

const methodInTool: Step = {
  name: 'method_in_tool',
  run(parts, ctx) {
    const tool = ctx.tool!;
    const methodId = ctx.args!.method_id;
    if (!tool.methodSet.has(methodId)) {
      if (ctx.stage === 'confirm') return noLongerAllowed(ctx);
      return { code: 'UNKNOWN_METHOD', message: `tool \`${tool.name}\` has no method \`${methodId.slice(0, 120)}\`; methods: ${tool.methods.join(', ')}` };
    }
    const plan = (ctx.plan ??= parts.plans.get(methodId)!);
    ctx.record.method_id = plan.spec.method_id;
    ctx.record.provider = plan.spec.provider;
    return undefined;
  },
};

const integrationEnabled: Step = {
  name: 'integration_enabled',
  run(_parts, ctx) {
    const plan = ctx.plan!;
    if (plan.integration.lifecycle !== 'end_of_support') return undefined;
    return { code: 'INTEGRATION_DISABLED', message: `integration \`${plan.spec.provider}\` has reached end of support and is disabled` };
  },
};

const paramsValid: Step = {
  name: 'params_valid',
  run(parts, ctx) {
    const { params } = ctx.args!;
    const tooBig = paramsProblem(params);
    if (tooBig) return { code: 'VALIDATION_FAILED', message: tooBig };
    const plan = ctx.plan!;
    const spec = plan.spec;
    const invalid = problemsOf((plan.validateInput ??= parts.validators.get(spec.input_schema)), params, true);
    return invalid ? { code: 'VALIDATION_FAILED', message: `params do not match ${spec.method_id}: ${invalid}` } : undefined;
  },
};

const governanceAllows: Step = {
  name: 'governance_allows',
  run(_parts, ctx) {
    const { governance } = ctx.plan!;
    return governance.ok ? undefined : { code: governance.code, message: governance.message };
  },
};

const cursorSealedHere: Step = {
  name: 'cursor_sealed_here',
  run(parts, ctx) {
    const args = ctx.args!;
    if (args.cursor === undefined) return undefined;
    // Only a cursor this runtime sealed, for this tenant, method and params, reaches the integration.
    const raw = parts.cursors.open({ tenant: ctx.tenant, method_id: args.method_id, params: args.params }, args.cursor);
    if (raw === undefined) return { code: 'VALIDATION_FAILED', message: '`cursor` was not handed out for this method, tenant and params; pass meta.next_cursor back unchanged' };
    args.cursor = raw;
    return undefined;
  },
};

const credentialInScope: Step = {
  name: 'credential_in_scope',
  run(parts, ctx) {
    const spec = ctx.plan!.spec;
    const settle = (checked: CredentialCheck): StepOutcome => {
      if ('code' in checked) return { code: ctx.stage === 'confirm' ? 'AUTH_FORBIDDEN' : checked.code, message: checked.message };
      ctx.credential = checked.value;
      return undefined;
    };
    // Without a credential source there is nothing to wait for.
    return parts.options.credentials ? parts.credential(ctx.tenant, spec).then(settle) : settle(checkScopes(ctx.tenant, spec, undefined));
  },
};

/**
 * The governed call: a read runs; an outbound write is proposed for a person's confirmation
 * (unless it is a dry run); an import's records go to the review queue. With an idempotency key
 * it runs at most once per key; imported records never reach the caller from here, and a
 * provider's next cursor is sealed to the tenant, method and params.
 */
const runGoverned: Step = {
  name: 'run_governed',
  terminal: true,
  run(parts, ctx) {
    const plan = ctx.plan!;
    const args = ctx.args!;
    const record = ctx.record;
    if (args.idempotency_key !== undefined) record.detail['idempotency_key'] = args.idempotency_key;
    if (args.dry_run) record.detail['dry_run'] = true;
    const kind: CallKind = plan.governance.ok ? plan.governance.kind : 'read';
    // A read without a key is the common call: the integration's result with its cursor sealed,
    // finished by the executor itself (no promise hop here), and handed to the caller's
    // `deliver` (its audit entry) when it gave one.
    if (kind === 'read' && args.idempotency_key === undefined) {
      const deliver = ctx.deliver;
      if (deliver !== undefined) ctx.delivers = true;
      return parts.executor.invoke({
        plan, args, tenant: ctx.tenant, traceId: ctx.traceId, credential: ctx.credential, started: ctx.started, record,
        // Without a credential source no step waited: the attempt's timeout counts from the call's start.
        begun: parts.options.credentials ? undefined : ctx.started,
        last: (result) => sealed(parts, ctx, result),
        deliver,
      });
    }
    const invocation: Invocation = { plan, args, tenant: ctx.tenant, traceId: ctx.traceId, credential: ctx.credential, started: ctx.started, record };
    return keyedOrGoverned(parts, ctx, invocation, kind);
  },
};

async function keyedOrGoverned(parts: RuntimeParts, ctx: CallContext, invocation: Invocation, kind: CallKind): Promise<IntegrationResult> {
  const { args } = invocation;
  let result: IntegrationResult;
  if (args.idempotency_key === undefined) {
    result = await governed(parts, invocation, ctx.call, kind);
  } else {
    // Proposing a write sends nothing: it looks the key up (to replay a sent result) without claiming it.
    const proposes = kind === 'outbound_write' && !args.dry_run;
    result = await parts.gate.run(keyedCall(ctx.tenant, args as CallArgs & { idempotency_key: string }, ctx.started), () => governed(parts, invocation, ctx.call, kind), { claim: !proposes });
  }
  // Imported data reaches the model only after review, whatever the call asked for: a dry run
  // of an import, or a replay of a stored import result, answers without the records.
  return sealed(parts, ctx, kind === 'import' && result.ok ? withheldImport(result) : result);
}

/** The result with a provider's next cursor sealed to the tenant, method and params of the call. */
function sealed(parts: RuntimeParts, ctx: CallContext, result: IntegrationResult): IntegrationResult {
  if (result.meta.next_cursor === null) return result;
  return sealNextCursor(parts.cursors, { tenant: ctx.tenant, method_id: ctx.plan!.spec.method_id, params: ctx.args!.params }, result);
}

async function governed(parts: RuntimeParts, invocation: Invocation, call: DispatchCall, kind: CallKind): Promise<IntegrationResult> {
  if (kind === 'outbound_write' && !invocation.args.dry_run) return proposeWrite(parts, invocation, call);
  const result = await parts.executor.invoke(invocation);
  if (kind !== 'import' || !result.ok) return result;
  // A dry run of an import queues nothing and returns no records (nor stores them under a key).
  return invocation.args.dry_run ? withheldImport(result) : queueImport(parts, invocation, result);
}

/**
 * The dispatch order of a tool call, readable in one place (README, Running bundles): the
 * expert may use the tool → the op exists → the approver names one person → informational ops
 * answer → the `call` args match the tool's envelope → the method belongs to the tool → its
 * integration is not past end of support → params are valid → governance allows the method →
 * a cursor was sealed here → the tenant's credential covers the method's scopes → the governed
 * call (with output validation). The first step that refuses decides the error code.
 */
export const DISPATCH_STEPS: readonly Step[] = Object.freeze([
  expertMayUseTool,
  opExists,
  approverNamesOnePerson,
  answerInfoOp,
  argsMatchEnvelope,
  methodInTool,
  integrationEnabled,
  paramsValid,
  governanceAllows,
  cursorSealedHere,
  credentialInScope,
  runGoverned,
]);

/** The step of DISPATCH_STEPS with this name (for the confirmation path, which reuses them). */
export function dispatchStep(name: string): Step {
  const step = DISPATCH_STEPS.find((s) => s.name === name);
  if (!step) throw new Error(`no dispatch step ${name}`);
  return step;
}

/**
 * Runs `steps` in order until one answers: a refusal or a result. Steps that answer
 * synchronously cost no promise hop; only a step that has to wait is awaited.
 */
export async function runSteps(parts: RuntimeParts, ctx: CallContext, steps: readonly Step[]): Promise<Refusal | IntegrationResult | undefined> {
  for (const step of steps) {
    let out = step.run(parts, ctx);
    if (out instanceof Promise) out = await out;
    if (out !== undefined) return out;
  }
  return undefined;
}

/**
 * Dispatches one tool call through DISPATCH_STEPS from step `from`; a refusal becomes an error
 * result. Synchronous until a step has to wait: then the rest runs once it settled, and the
 * last step's promise is the call's result as it is, so the common call costs no promise hop
 * of its own.
 */
export function dispatch(parts: RuntimeParts, ctx: CallContext, from = 0): IntegrationResult | Promise<IntegrationResult> {
  for (let i = from; i < DISPATCH_STEPS.length; i++) {
    const step = DISPATCH_STEPS[i]!;
    const out = step.run(parts, ctx);
    if (out === undefined) continue;
    if (out instanceof Promise) {
      if (step.terminal) return out as Promise<IntegrationResult>;
      return out.then((settled: StepOutcome) => (settled === undefined ? dispatch(parts, ctx, i + 1) : answer(ctx, settled)));
    }
    return answer(ctx, out);
  }
  throw new Error('no dispatch step answered');
}

function answer(ctx: CallContext, out: Refusal | IntegrationResult): IntegrationResult {
  return 'ok' in out ? out : errorResult(out.code, out.message, stepMeta(ctx));
}

function stepMeta(ctx: CallContext) {
  return emptyMeta('botc', `tool:${ctx.call.tool}`, elapsed(ctx.started));
}

/** A confirmation whose expert, tool or method the running bundle no longer allows. */
function noLongerAllowed(ctx: CallContext): Refusal {
  return { code: 'TOOL_NOT_ALLOWED', message: `expert \`${ctx.call.expert}\` may no longer use ${ctx.args!.method_id} through tool \`${ctx.call.tool}\`` };
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}
