import { randomUUID, type KeyObject } from 'node:crypto';
import path from 'node:path';
import { canonicalJson, sha256 } from '../bundle/canonical.ts';
import type { Bundle, BundleIntegration, BundleTool } from '../bundle/format.ts';
import type { AuthStatus, ErrorCode, Integration, IntegrationCall, IntegrationResult, MethodSpec, ResultMeta, RetryPolicy } from '../integration/types.ts';
import { WorkspaceFiles } from '../load/files.ts';
import { describeLoadError, importModule } from '../load/modules.ts';
import { MemoryStore } from '../state/memory.ts';
import { newId } from '../state/sql-store.ts';
import { ANY_APPROVER, type AuditInput, type ReviewItem, type StateStore } from '../state/types.ts';
import { TOOL_OPS, type ToolOp } from '../tools/envelope.ts';
import { help, listMethods, listProviders, providersOf } from '../tools/ops.ts';
import { BundleLoadError, readBundle, runtimeIntegration, verifyBundle, verifyDeclaredMethods, verifyMethodProviders, verifyModules, verifyRegistry } from './bundle.ts';
import { approverFor, bindingDetail, bindingProblem, CONFIRMATION_ID, decidedProblem, newConfirmationNames, rejectConfirmation, type RejectRequest } from './confirmations.ts';
import { CredentialUnavailableError, type Credential, type CredentialSource } from '../integration/credentials.ts';
import { CursorSealer, sealNextCursor } from './cursors.ts';
import { boundConfirmRequest, boundDecision, boundToolCall } from './envelope-bounds.ts';
import { elapsed, Executor } from './executor.ts';
import { govern, importedRecords, type Governance } from './governance.ts';
import { IdempotencyGate } from './idempotency.ts';
import { paramsProblem } from './params.ts';
import { plainAuthStatus } from './plain.ts';
import { verifyBundleSignature } from './signature.ts';
import { emptyMeta, errorResult, okResult, scrub } from './results.ts';
import { Validators } from './validators.ts';
import { withWorkspaceConfig } from './workspace-config.ts';

/** One tool call as an agent runtime receives it (README, Running bundles). */
export interface ToolCall {
  expert: string;
  tool: string;
  op: string;
  args?: unknown;
  tenant?: string;
  trace_id?: string;
  /**
   * The person who must approve an outbound write this call proposes. Required for such a write
   * unless the deployment lets any person of the tenant approve (`RuntimeOptions.any_approver`);
   * `*` is refused (VALIDATION_FAILED): a call cannot widen who may approve.
   */
  approver?: string;
}

export interface RuntimeOptions {
  /** The workspace root holding `integrations/`. */
  root: string;
  credentials?: CredentialSource;
  /** Durable state: audit log, confirmations, review queue, idempotency. In memory when absent. */
  store?: StateStore;
  /** Per-provider configuration, such as `base_url`. Never secrets. */
  providerConfig?: Record<string, Record<string, unknown>>;
  timeout_ms?: number;
  retry_policy?: RetryPolicy;
  /** How long a confirmation token stays usable. Default 15 minutes. */
  confirmation_ttl_ms?: number;
  /**
   * The key (at least 32 bytes) that seals pagination cursors (cursors.ts). Every process of one
   * deployment must use the same key, or a cursor handed out by one is VALIDATION_FAILED in the
   * next; the command line takes it from BOTC_CURSOR_KEY. A random key per runtime when absent.
   */
  cursor_key?: Uint8Array;
  /**
   * When set, only a bundle whose digest carries a valid Ed25519 signature by this key's pair
   * loads (signature.ts): for runtimes that load bundles built elsewhere. KeyObject or PEM.
   */
  bundle_public_key?: KeyObject | string;
  /** The base64 signature of the bundle's digest (`signBundleDigest`), checked against `bundle_public_key`. */
  bundle_signature?: string;
  /**
   * A deployment setting: when true, an outbound write proposed by a call that names no
   * `approver` may be confirmed by any person of the tenant. Default false: such a call is
   * refused (VALIDATION_FAILED), so every confirmation names the one person who may approve it.
   */
  any_approver?: boolean;
  /**
   * Where the bundle was loaded from, recorded with each confirmation it proposes. Set by
   * `Runtime.load` when given a path; give it when loading a bundle object read from a file.
   */
  bundle_path?: string;
  /** The clock, for tests. */
  now?: () => number;
}

/** A person's approval of a pending confirmation by its public id (`conf_…`), as `botc confirm approve` makes it. */
export interface ConfirmByIdRequest {
  id: string;
  tenant?: string;
  approver: string;
  /** When given, the params the host means to send: they must preview to the confirmed request. */
  params?: Record<string, unknown>;
  trace_id?: string;
}

export interface ConfirmRequest {
  token: string;
  tenant?: string;
  approver: string;
  /** When given, the params the host means to send: they must preview to the confirmed request. */
  params?: Record<string, unknown>;
  trace_id?: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_CONFIRMATION_TTL_MS = 15 * 60 * 1000;
/** No retries unless the deployment declares them: failures surface, they are not hidden. */
const NO_RETRIES: RetryPolicy = { max_attempts: 1, backoff_ms: 0, max_backoff_ms: 0 };
/** Time for a call's outcome to be recorded once its last attempt ends. */
const LEASE_MARGIN_MS = 30_000;
const CALL_ARGS = new Set(['method_id', 'params', 'cursor', 'dry_run', 'idempotency_key']);

interface MethodPlan {
  spec: MethodSpec;
  integration: BundleIntegration;
  instance: Integration;
  governance: Governance;
}

interface CallArgs {
  method_id: string;
  params: Record<string, unknown>;
  cursor?: string;
  dry_run?: boolean;
  idempotency_key?: string;
}

/** What the audit entry of one tool call records besides its outcome. */
interface CallRecord {
  method_id: string | null;
  provider: string | null;
  detail: Record<string, unknown>;
}

/** One governed integration call in progress: what runs, for whom, and where it is recorded. */
interface Invocation {
  plan: MethodPlan;
  args: CallArgs;
  tenant: string;
  traceId: string;
  credential: Credential | undefined;
  started: number;
  /** The audit record of the tool call this belongs to, when there is one. */
  record: CallRecord | undefined;
}

/**
 * Loads a bundle and its integration modules, then dispatches tool calls in the fixed order
 * of README, Running bundles — expert may use tool → op exists → method belongs to tool → params valid →
 * integration call → output valid — under the governance rules of the seeds: read-only
 * integrations never write, outbound writes wait for a person's confirmation, imports wait in
 * the review queue, and every call is audited. Every failure is a result with a closed error
 * code; nothing throws to the caller.
 */
export class Runtime {
  readonly bundle: Bundle;
  private readonly options: RuntimeOptions;
  private readonly store: StateStore;
  private readonly validators = new Validators();
  private readonly executor = new Executor();
  private readonly tools: Map<string, BundleTool & { methodSet: Set<string> }>;
  private readonly expertTools: Map<string, Set<string>>;
  private readonly plans: Map<string, MethodPlan>;
  private readonly instances: Map<string, Integration>;
  private readonly gate: IdempotencyGate;
  private readonly bundlePath: string | null;
  private readonly now: () => number;
  private readonly cursors: CursorSealer;

  private constructor(bundle: Bundle, instances: Map<string, Integration>, options: RuntimeOptions) {
    this.bundle = bundle;
    this.options = options;
    this.instances = instances;
    this.store = options.store ?? new MemoryStore();
    this.now = options.now ?? Date.now;
    this.cursors = new CursorSealer(options.cursor_key);
    this.bundlePath = options.bundle_path === undefined ? null : path.resolve(options.bundle_path);
    this.gate = new IdempotencyGate(this.store, this.now, leaseMs(options));
    this.tools = new Map(bundle.tools.map((t) => [t.name, { ...t, methodSet: new Set(t.methods) }]));
    this.expertTools = new Map(bundle.experts.map((e) => [e.name, new Set(e.tools)]));
    this.plans = new Map(
      Object.values(bundle.methods).map((spec) => {
        const integration = bundle.integrations[spec.provider]!;
        return [spec.method_id, { spec, integration, instance: instances.get(spec.provider)!, governance: govern(spec, integration) }];
      }),
    );
  }

  /**
   * Whether this deployment lets any person of the tenant approve a write whose call names no
   * approver (`RuntimeOptions.any_approver`). Adapters read it to refuse, when they are created,
   * a configuration whose writes could never be confirmed.
   */
  get anyApprover(): boolean {
    return this.options.any_approver === true;
  }

  /**
   * Loads a bundle file or object; refuses a changed bundle or changed module sources. Options
   * the caller leaves out are read from the workspace's botc.config.json (`withWorkspaceConfig`).
   */
  static async load(bundle: string | Bundle, options: RuntimeOptions): Promise<Runtime> {
    const verified = typeof bundle === 'string' ? readBundle(bundle) : verifyBundle(bundle);
    options = withWorkspaceConfig(options, Object.keys(verified.integrations));
    if (options.bundle_public_key !== undefined) verifyBundleSignature(verified.digest, options.bundle_signature, options.bundle_public_key);
    const files = new WorkspaceFiles(options.root);
    verifyModules(verified, files);
    verifyMethodProviders(verified);
    verifyRegistry(verified, files);
    const instances = new Map<string, Integration>();
    for (const [provider, recorded] of Object.entries(verified.integrations)) {
      const file = `integrations/${recorded.module}`;
      let namespace: Record<string, unknown>;
      try {
        namespace = await importModule(files.absolute(file), recorded.sha256, { root: files.root, module: file });
      } catch (error) {
        throw new BundleLoadError(`module ${file} fails to load: ${describeLoadError(error, files.root)}`);
      }
      const instance = runtimeIntegration(namespace, recorded.export, { provider, config: options.providerConfig?.[provider] ?? {} }, file);
      // The module's own declarations, not the bundle's copy, decide what each method is.
      verifyDeclaredMethods(verified, provider, instance, file);
      instances.set(provider, instance);
    }
    return new Runtime(verified, instances, typeof bundle === 'string' && options.bundle_path === undefined ? { ...options, bundle_path: bundle } : options);
  }

  /**
   * One page of a scheduled sync stream (`botc sync run`, src/inbound/sync.ts): calls an
   * `import` method of the bundle with the integration's own cursor (`cursor`, raw, as the
   * stream stored it; never handed to a model), with the same input and output validation,
   * credentials, timeout and declared retry policy as a tool call. The records are returned to
   * the caller, which commits them with the stream's cursor in one transaction into the review
   * queue; nothing is queued here. Audited as `sync.page`. Never throws.
   */
  async syncPage(input: { tenant: string; method_id: string; params: Record<string, unknown>; cursor?: string; trace_id?: string }): Promise<IntegrationResult> {
    const started = performance.now();
    const traceId = input.trace_id ?? randomUUID();
    const meta = () => emptyMeta('botc', `sync:${input.method_id.slice(0, 120)}`, elapsed(started));
    const plan = this.plans.get(input.method_id);
    let result: IntegrationResult;
    try {
      if (!plan) result = errorResult('UNKNOWN_METHOD', `the bundle has no method \`${input.method_id.slice(0, 120)}\``, meta());
      else if (!plan.governance.ok || plan.governance.kind !== 'import') result = errorResult('VALIDATION_FAILED', `\`${plan.spec.method_id}\` is not an import method; a sync stream pulls through one`, meta());
      else if (plan.integration.lifecycle === 'end_of_support') result = errorResult('INTEGRATION_DISABLED', `integration \`${plan.spec.provider}\` has reached end of support and is disabled`, meta());
      else {
        const invalid = this.validators.check(plan.spec.input_schema, input.params);
        const credential = invalid ? undefined : this.options.credentials ? await this.credential(input.tenant, plan.spec) : checkScopes(input.tenant, plan.spec, undefined);
        if (invalid) result = errorResult('VALIDATION_FAILED', `params do not match ${plan.spec.method_id}: ${invalid}`, meta());
        else if (credential && 'code' in credential) result = errorResult(credential.code, credential.message, meta());
        else {
          const args: CallArgs = { method_id: plan.spec.method_id, params: input.params };
          if (input.cursor !== undefined) args.cursor = input.cursor;
          result = await this.run({ plan, args, tenant: input.tenant, traceId, credential: credential?.value, started, record: undefined });
        }
      }
    } catch {
      result = errorResult('INTERNAL_ERROR', 'the runtime failed while running the sync page', meta());
    }
    await this.audit({
      tenant: input.tenant, action: 'sync.page', actor: 'runtime', integration: plan?.spec.provider ?? null, method_id: plan?.spec.method_id ?? null,
      outcome: result.ok ? 'ok' : result.error.code, trace_id: traceId, detail: { latency_ms: result.meta.latency_ms },
    });
    return result;
  }

  /** Runs one tool call and audits it. Never throws: every failure is an IntegrationResult error. */
  async callTool(input: ToolCall): Promise<IntegrationResult> {
    const started = performance.now();
    // Every caller-supplied field is bounded before it is stored or echoed (envelope-bounds.ts).
    const { call, problem } = boundToolCall(input);
    const tenant = call.tenant ?? 'default';
    const traceId = call.trace_id ?? randomUUID();
    const record: CallRecord = { method_id: null, provider: null, detail: { expert: call.expert, tool: call.tool, op: call.op } };
    let result: IntegrationResult;
    try {
      result = problem ? errorResult('VALIDATION_FAILED', problem, emptyMeta('botc', null, elapsed(started))) : await this.handle(call, tenant, traceId, started, record);
    } catch {
      // A bug in the runtime itself: report it without its details.
      result = errorResult('INTERNAL_ERROR', 'the runtime failed while handling the call', emptyMeta('botc', `tool:${call.tool}`, elapsed(started)));
    }
    record.detail['latency_ms'] = result.meta.latency_ms;
    return this.audited(result, {
      tenant,
      action: call.op === 'call' ? 'call' : 'query',
      actor: `expert:${call.expert}`,
      integration: record.provider,
      method_id: record.method_id,
      outcome: result.ok ? 'ok' : result.error.code,
      trace_id: traceId,
      detail: record.detail,
    });
  }

  private async handle(call: ToolCall, tenant: string, traceId: string, started: number, record: CallRecord): Promise<IntegrationResult> {
    const meta = () => emptyMeta('botc', `tool:${call.tool}`, elapsed(started));
    const allowed = this.expertTools.get(call.expert);
    const tool = this.tools.get(call.tool);
    if (!allowed || !tool || !allowed.has(call.tool)) {
      const why = !allowed ? `bot ${this.bundle.bot.id} has no expert \`${call.expert}\`` : `expert \`${call.expert}\` may not use tool \`${call.tool}\``;
      return errorResult('TOOL_NOT_ALLOWED', why, meta());
    }
    if (!(TOOL_OPS as readonly string[]).includes(call.op)) {
      return errorResult('UNKNOWN_OP', `tool \`${tool.name}\` has no op \`${String(call.op).slice(0, 40)}\`; ops: ${TOOL_OPS.join(', ')}`, meta());
    }
    const op = call.op as ToolOp;
    if (call.approver !== undefined) {
      const approver = approverFor(call.approver, false);
      if ('problem' in approver) return errorResult('VALIDATION_FAILED', approver.problem, meta());
    }
    if (op !== 'call') {
      if (call.args !== undefined && call.args !== null && !isEmptyObject(call.args)) {
        return errorResult('VALIDATION_FAILED', `op \`${op}\` takes no args`, meta());
      }
      if (op === 'help') return okResult(help(this.bundle, tool), meta());
      if (op === 'list_methods') return okResult(listMethods(this.bundle, tool), meta());
      if (op === 'list_providers') return okResult(listProviders(this.bundle, tool), meta());
      return okResult(await this.status(tool, tenant), meta());
    }

    const args = parseCallArgs(call.args);
    if (typeof args === 'string') return errorResult('VALIDATION_FAILED', args, meta());
    if (!tool.methodSet.has(args.method_id)) {
      return errorResult('UNKNOWN_METHOD', `tool \`${tool.name}\` has no method \`${args.method_id.slice(0, 120)}\`; methods: ${tool.methods.join(', ')}`, meta());
    }
    const plan = this.plans.get(args.method_id)!;
    record.method_id = plan.spec.method_id;
    record.provider = plan.spec.provider;
    if (plan.integration.lifecycle === 'end_of_support') {
      return errorResult('INTEGRATION_DISABLED', `integration \`${plan.spec.provider}\` has reached end of support and is disabled`, meta());
    }
    const tooBig = paramsProblem(args.params);
    if (tooBig) return errorResult('VALIDATION_FAILED', tooBig, meta());
    const invalid = this.validators.check(plan.spec.input_schema, args.params);
    if (invalid) return errorResult('VALIDATION_FAILED', `params do not match ${plan.spec.method_id}: ${invalid}`, meta());
    if (!plan.governance.ok) return errorResult(plan.governance.code, plan.governance.message, meta());
    const cursor = { tenant, method_id: plan.spec.method_id, params: args.params };
    if (args.cursor !== undefined) {
      // Only a cursor this runtime sealed, for this tenant, method and params, reaches the integration.
      const raw = this.cursors.open(cursor, args.cursor);
      if (raw === undefined) return errorResult('VALIDATION_FAILED', '`cursor` was not handed out for this method, tenant and params; pass meta.next_cursor back unchanged', meta());
      args.cursor = raw;
    }

    // Without a credential source there is nothing to wait for.
    const credential = this.options.credentials ? await this.credential(tenant, plan.spec) : checkScopes(tenant, plan.spec, undefined);
    if ('code' in credential) return errorResult(credential.code, credential.message, meta());
    if (args.idempotency_key !== undefined) record.detail['idempotency_key'] = args.idempotency_key;
    if (args.dry_run) record.detail['dry_run'] = true;

    const invocation: Invocation = { plan, args, tenant, traceId, credential: credential.value, started, record };
    const perform = () => this.perform(invocation, call);
    // Proposing a write sends nothing: it looks the key up (to replay a sent result) without claiming it.
    const proposes = plan.governance.ok && plan.governance.kind === 'outbound_write' && !args.dry_run;
    const result = args.idempotency_key === undefined ? await perform() : await this.idempotent(plan.spec, args, tenant, started, perform, !proposes);
    // Imported data reaches the model only after review, whatever the call asked for: a dry run
    // of an import, or a replay of a stored import result, answers without the records.
    return sealNextCursor(this.cursors, cursor, plan.governance.ok && plan.governance.kind === 'import' && result.ok ? withheldImport(result) : result);
  }

  /** The governed part of a call: confirmation for outbound writes, review for imports. */
  private perform(invocation: Invocation, call: ToolCall): Promise<IntegrationResult> {
    const { plan, args } = invocation;
    const kind = plan.governance.ok ? plan.governance.kind : 'read';
    if (kind === 'outbound_write' && !args.dry_run) return this.requestConfirmation(invocation, call);
    const running = this.run(invocation);
    // A dry run of an import queues nothing and returns no records (nor stores them under a key).
    if (kind === 'import' && args.dry_run) return running.then((result) => (result.ok ? withheldImport(result) : result));
    if (kind !== 'import') return running;
    return running.then((result) => (result.ok ? this.queueImport(invocation, result) : result));
  }

  /** Calls the integration (timeout, declared retries) and validates what comes back. */
  private async run(invocation: Invocation): Promise<IntegrationResult> {
    const { plan, args, tenant, traceId, credential, started, record } = invocation;
    const request: IntegrationCall = {
      trace_id: traceId,
      method_id: plan.spec.method_id,
      args: args.params,
      timeout_ms: this.options.timeout_ms ?? DEFAULT_TIMEOUT_MS,
      retry_policy: this.options.retry_policy ?? NO_RETRIES,
    };
    if (args.cursor !== undefined) request.cursor = args.cursor;
    if (args.dry_run !== undefined) request.dry_run = args.dry_run;
    if (args.idempotency_key !== undefined) request.idempotency_key = args.idempotency_key;
    const { result, attempts } = await this.executor.execute({
      spec: plan.spec,
      integration: plan.instance,
      classification: plan.integration.classification,
      request,
      tenant,
      credential,
      onRetry: request.retry_policy.max_attempts <= 1 ? undefined : (attempt, wait, code) =>
        this.audit({ tenant, action: 'retry', actor: 'runtime', integration: plan.spec.provider, method_id: plan.spec.method_id, outcome: code, trace_id: traceId, detail: { attempt, wait_ms: wait } }),
    });
    let final = result;
    if (!final.ok && final.error.code === 'AUTH_REQUIRED' && credential) final = await this.retryWithRenewedCredential(invocation, request, final);
    // A dry run of an outbound write returns a preview of the request, not method output;
    // everything else (reads, and imports, whose dry run is validated but not returned) is validated.
    const isPreview = args.dry_run === true && plan.governance.ok && plan.governance.kind === 'outbound_write';
    if (final.ok && !isPreview) {
      const invalid = this.validators.checkOutput(plan.spec.output_schema, final.data);
      if (invalid) final = errorResult('OUTPUT_INVALID', `the provider's output does not match ${plan.spec.method_id}: ${invalid}`, final.meta);
    }
    final.meta.latency_ms = elapsed(started);
    final.meta['attempts'] = attempts;
    if (args.dry_run) final.meta['dry_run'] = true;
    if (plan.integration.lifecycle === 'deprecated') {
      final.meta['warnings'] = [`integration \`${plan.spec.provider}\` is deprecated; plan a migration before it reaches end of support`];
    }
    if (record) record.detail['attempts'] = attempts;
    return final;
  }

  /**
   * The provider answered 401 to a call made with a credential: once per call, asks the source
   * to renew it (an OAuth refresh, one in flight per credential across processes) and runs the
   * call again with the renewed credential, still checked for least privilege. A 401 means the
   * provider did not act on the request, so running it again sends it once. A failed renewal
   * is AUTH_REQUIRED with its reason (it says to log in again).
   */
  private async retryWithRenewedCredential(invocation: Invocation, request: IntegrationCall, rejected: IntegrationResult): Promise<IntegrationResult> {
    const source = this.options.credentials;
    const { plan, tenant, credential } = invocation;
    if (!source?.refreshAfterRejection || !credential) return rejected;
    let renewed: Credential | undefined;
    try {
      renewed = await source.refreshAfterRejection(tenant, plan.spec.provider, credential);
    } catch (error) {
      if (error instanceof CredentialUnavailableError) return errorResult('AUTH_REQUIRED', error.message, rejected.meta);
      throw error;
    }
    if (!renewed || renewed.secret === credential.secret) return rejected;
    const checked = checkScopes(tenant, plan.spec, renewed);
    if ('code' in checked) return errorResult(checked.code, checked.message, rejected.meta);
    const { result } = await this.executor.execute({
      spec: plan.spec,
      integration: plan.instance,
      classification: plan.integration.classification,
      request,
      tenant,
      credential: checked.value,
      onRetry: undefined,
    });
    return result;
  }

  /** An outbound write: preview it with dry_run, and hand back a token a person must confirm. */
  private async requestConfirmation(invocation: Invocation, call: ToolCall): Promise<IntegrationResult> {
    const { plan, args, tenant, traceId, started } = invocation;
    const who = approverFor(call.approver, this.options.any_approver === true);
    if ('problem' in who) return errorResult('VALIDATION_FAILED', who.problem, emptyMeta('botc', `tool:${call.tool}`, elapsed(started)));
    const approver = who.approver;
    const preview = await this.run({ ...invocation, args: { ...args, dry_run: true } });
    if (!preview.ok) return preview;
    const { token, id } = newConfirmationNames();
    const previewSha = sha256(canonicalJson(preview.data));
    const expiresAt = this.now() + (this.options.confirmation_ttl_ms ?? DEFAULT_CONFIRMATION_TTL_MS);
    const binding = { id, bot: this.bundle.bot.id, bundle_digest: this.bundle.digest };
    await this.store.createConfirmation({
      token_sha256: sha256(token),
      ...binding,
      bundle_path: this.bundlePath,
      tenant,
      approver,
      expires_at: expiresAt,
      preview_sha256: previewSha,
      expert: call.expert,
      tool: call.tool,
      method_id: plan.spec.method_id,
      call_json: canonicalJson(storedCall(args)),
      preview_json: canonicalJson(preview.data),
      created_at: this.now(),
    });
    await this.audit({
      tenant,
      action: 'confirmation.created',
      actor: `expert:${call.expert}`,
      integration: plan.spec.provider,
      method_id: plan.spec.method_id,
      outcome: 'pending',
      trace_id: traceId,
      detail: { preview_sha256: previewSha, approver, expires_at: new Date(expiresAt).toISOString(), ...bindingDetail(binding), bundle_path: this.bundlePath },
    });
    const meta: ResultMeta = { ...preview.meta, latency_ms: elapsed(started) };
    meta['confirmation'] = {
      id, token, approver, expires_at: new Date(expiresAt).toISOString(), preview: preview.data, preview_sha256: previewSha, bot: binding.bot, bundle_digest: binding.bundle_digest,
    };
    return errorResult(
      'CONFIRMATION_REQUIRED',
      `${plan.spec.method_id} writes to ${plan.spec.provider}: show the preview to ${approver === ANY_APPROVER ? 'a person' : approver} and confirm it before it is sent`,
      meta,
    );
  }

  /**
   * Executes a previewed outbound write once a person approves it: the token must belong to
   * the tenant and the approver, be unexpired and unused, and the request must still preview to
   * exactly what was shown. The token is used up whatever the outcome; nothing is retried silently.
   */
  async confirm(input: ConfirmRequest): Promise<IntegrationResult> {
    const started = performance.now();
    const { request, problem } = boundConfirmRequest(input);
    try {
      if (problem) {
        const tenant = request.tenant ?? 'default';
        return await this.audited(errorResult('VALIDATION_FAILED', problem, emptyMeta('botc', 'confirmation', elapsed(started))), {
          tenant, action: 'confirmation.rejected', actor: `user:${request.approver}`, integration: null, method_id: null, outcome: 'VALIDATION_FAILED', trace_id: request.trace_id ?? randomUUID(), detail: { message: problem },
        });
      }
      return await this.confirmRequest(request, { token: request.token }, started);
    } catch {
      // Like callTool: a failure of the runtime or its store is reported without its details.
      return errorResult('INTERNAL_ERROR', 'the runtime failed while handling the confirmation', emptyMeta('botc', 'confirmation', elapsed(started)));
    }
  }

  /**
   * Executes a previewed outbound write by its public id, as a person with access to the store
   * approves it (`botc confirm approve <id>`): the same checks as `confirm` — the tenant, the
   * approver, unexpired, unused, the same bot and bundle digest, the request still previews to
   * what was shown — then the write is sent once. An unknown id is NOT_FOUND; one already used or
   * rejected is CONFLICT with `meta.confirmation.status`. Adapters confirm what a person approved
   * through the framework's approval step this way, so they never need the token.
   */
  async confirmById(input: ConfirmByIdRequest): Promise<IntegrationResult> {
    const started = performance.now();
    const { request, problem } = boundDecision(input);
    try {
      if (problem) {
        const tenant = request.tenant ?? 'default';
        return await this.audited(errorResult('VALIDATION_FAILED', problem, emptyMeta('botc', 'confirmation', elapsed(started))), {
          tenant, action: 'confirmation.rejected', actor: `user:${request.approver}`, integration: null, method_id: null, outcome: 'VALIDATION_FAILED', trace_id: request.trace_id ?? randomUUID(), detail: { message: problem },
        });
      }
      return await this.confirmRequest(request, { id: request.id }, started);
    } catch {
      return errorResult('INTERNAL_ERROR', 'the runtime failed while handling the confirmation', emptyMeta('botc', 'confirmation', elapsed(started)));
    }
  }

  /**
   * A person rejects a pending confirmation by its public id: it can then never be used, and the
   * decision (with `reason`) is audited. See `rejectConfirmation` for the outcomes.
   */
  async reject(input: RejectRequest): Promise<IntegrationResult> {
    try {
      return await rejectConfirmation(this.store, input, this.now());
    } catch {
      return errorResult('INTERNAL_ERROR', 'the runtime failed while handling the rejection', emptyMeta('botc', 'confirmation'));
    }
  }

  private async confirmRequest(
    request: { tenant?: string; approver: string; params?: Record<string, unknown>; trace_id?: string },
    find: { token: string } | { id: string },
    started: number,
  ): Promise<IntegrationResult> {
    const tenant = request.tenant ?? 'default';
    const traceId = request.trace_id ?? randomUUID();
    const actor = `user:${request.approver}`;
    // Which confirmation, bot and bundle a decision is about; named only to the tenant it belongs to.
    let binding: Record<string, unknown> = 'id' in find ? { confirmation_id: find.id } : {};
    const refuse = (code: ErrorCode, message: string, methodId: string | null = null, confirmation?: Record<string, unknown>) => {
      const meta = emptyMeta('botc', 'confirmation', elapsed(started));
      if (confirmation) meta['confirmation'] = confirmation;
      return this.audited(errorResult(code, message, meta), {
        tenant, action: 'confirmation.rejected', actor, integration: methodId?.split('.')[0] ?? null, method_id: methodId, outcome: code, trace_id: traceId, detail: { message, ...binding },
      });
    };
    // The person confirming is one named person, never a pattern such as `*`.
    const person = approverFor(request.approver, false);
    if ('problem' in person) return refuse('VALIDATION_FAILED', person.problem.replace('`approver`', 'the confirming approver'));
    let stored;
    if ('token' in find) {
      stored = await this.store.getConfirmation(sha256(find.token));
      if (!stored) return refuse('CONFIRMATION_REQUIRED', 'no confirmation has this token');
    } else {
      stored = CONFIRMATION_ID.test(find.id) ? await this.store.getConfirmationById(find.id) : undefined;
      if (!stored) return refuse('NOT_FOUND', `no confirmation has id ${find.id} (ids look like conf_ and 32 hex digits; \`botc confirm list\` shows them)`);
    }
    const tokenSha = stored.token_sha256;
    if (stored.tenant !== tenant) return refuse('AUTH_FORBIDDEN', 'the confirmation belongs to another tenant', stored.method_id);
    binding = { ...bindingDetail(stored), running_bot: this.bundle.bot.id, running_bundle_digest: this.bundle.digest };
    // Used or rejected: a distinct outcome (CONFLICT), decided before anything is previewed again.
    const decided = decidedProblem(stored);
    if (decided) return refuse(decided.code, decided.message, stored.method_id, decided.confirmation);
    const plan = this.plans.get(stored.method_id);
    if (!plan) return refuse('UNKNOWN_METHOD', `this bundle has no method ${stored.method_id}`, stored.method_id);
    // The rules of the bundle that runs now apply, not those of the one that made the token.
    if (!this.expertTools.get(stored.expert)?.has(stored.tool) || !this.tools.get(stored.tool)?.methodSet.has(stored.method_id)) {
      return refuse('TOOL_NOT_ALLOWED', `expert \`${stored.expert}\` may no longer use ${stored.method_id} through tool \`${stored.tool}\``, stored.method_id);
    }
    if (plan.integration.lifecycle === 'end_of_support') {
      return refuse('INTEGRATION_DISABLED', `integration \`${plan.spec.provider}\` has reached end of support and is disabled`, stored.method_id);
    }
    if (!plan.governance.ok) return refuse(plan.governance.code, plan.governance.message, stored.method_id);
    // Only outbound writes are confirmed; anything else (an import, whose records must go to
    // review) never runs through a confirmation.
    if (plan.governance.kind !== 'outbound_write') return refuse('CONFLICT', `${stored.method_id} is not an outbound write in this bundle; there is nothing to confirm`, stored.method_id);
    const unbound = bindingProblem(stored, this.bundle);
    if (unbound) return refuse(unbound.code, unbound.message, stored.method_id);
    const saved = JSON.parse(stored.call_json) as CallArgs;
    // The confirmed request is the stored one: params the host passes must be exactly those, even
    // where they differ in something the provider's preview does not show.
    if (request.params !== undefined && !sameJson(request.params, saved.params)) {
      return refuse('CONFLICT', 'the params differ from the request that was previewed; preview them again', stored.method_id);
    }
    const args: CallArgs = { ...saved, method_id: stored.method_id, params: saved.params };
    const credential = await this.credential(tenant, plan.spec);
    if ('code' in credential) return refuse('AUTH_FORBIDDEN', credential.message, stored.method_id);
    const invocation: Invocation = { plan, args, tenant, traceId, credential: credential.value, started, record: undefined };
    const preview = await this.run({ ...invocation, args: { ...args, dry_run: true } });
    if (!preview.ok || sha256(canonicalJson(preview.data)) !== stored.preview_sha256) {
      return refuse('CONFLICT', 'the request no longer matches the preview that was confirmed; preview it again', stored.method_id);
    }
    const use = await this.store.useConfirmation(tokenSha, tenant, request.approver, this.now());
    if (!use.ok) {
      if (use.reason === 'used') {
        // Another process decided it between the read above and now.
        const again = await this.store.getConfirmation(tokenSha);
        const raced = again ? decidedProblem(again) : undefined;
        if (raced) return refuse(raced.code, raced.message, stored.method_id, raced.confirmation);
      }
      const reasons = { unknown: 'no confirmation has this token', used: 'the confirmation was already used', expired: 'the confirmation expired', tenant: 'the confirmation belongs to another tenant', approver: `only ${stored.approver} may approve this request` };
      return refuse(use.reason === 'approver' || use.reason === 'tenant' ? 'AUTH_FORBIDDEN' : use.reason === 'used' ? 'CONFLICT' : 'CONFIRMATION_REQUIRED', reasons[use.reason], stored.method_id);
    }
    const named = bindingDetail(stored);
    await this.audit({ tenant, action: 'confirmation.used', actor, integration: plan.spec.provider, method_id: plan.spec.method_id, outcome: 'ok', trace_id: traceId, detail: { preview_sha256: stored.preview_sha256, expert: stored.expert, tool: stored.tool, ...named } });
    const record: CallRecord = { method_id: plan.spec.method_id, provider: plan.spec.provider, detail: { expert: stored.expert, tool: stored.tool, op: 'call', confirmed_by: request.approver, ...named } };
    const sendArgs: CallArgs = { ...args, dry_run: false };
    // The intent is recorded before the write leaves and the outcome after (the `call` entry of the
    // same trace id): a crash in between leaves "attempted, outcome unknown" in the log, never nothing.
    const attempted: AuditInput = {
      tenant, action: 'call.attempted', actor, integration: plan.spec.provider, method_id: plan.spec.method_id, outcome: 'pending', trace_id: traceId,
      detail: { expert: stored.expert, tool: stored.tool, ...named, ...(sendArgs.idempotency_key !== undefined ? { idempotency_key: sendArgs.idempotency_key } : {}) },
    };
    const send = async (): Promise<IntegrationResult> => {
      try {
        await this.audit(attempted);
      } catch {
        return errorResult('INTERNAL_ERROR', 'the attempt could not be recorded in the audit log, so nothing was sent', emptyMeta('botc', 'confirmation', elapsed(started)), { retriable: true });
      }
      return this.run({ ...invocation, args: sendArgs, record });
    };
    // A write with an idempotency key is sent at most once per key: its result is stored, and a
    // later call or confirmation with the same key replays it instead of sending again.
    const result = sendArgs.idempotency_key === undefined ? await send() : await this.idempotent(plan.spec, sendArgs, tenant, started, send);
    return this.audited(result, { tenant, action: 'call', actor, integration: plan.spec.provider, method_id: plan.spec.method_id, outcome: result.ok ? 'ok' : result.error.code, trace_id: traceId, detail: record.detail });
  }

  /** An import: its records wait in the review queue, untrusted, until a person approves them. */
  private async queueImport(invocation: Invocation, result: IntegrationResult & { ok: true }): Promise<IntegrationResult> {
    const { plan, tenant, traceId, started } = invocation;
    const batchId = newId('batch');
    const now = this.now();
    const items: ReviewItem[] = importedRecords(result.data).map((r) => ({
      id: newId('rev'),
      tenant,
      provider: plan.spec.provider,
      method_id: plan.spec.method_id,
      record_key: r.key,
      record_json: r.json,
      record_sha256: r.sha256,
      status: 'pending',
      batch_id: batchId,
      created_at: now,
      decided_by: null,
      decided_at: null,
    }));
    // The records and the sync cursor are saved together: after a crash they still agree.
    const queued = await this.store.enqueueImport(items, { tenant, stream: plan.spec.method_id, value: result.meta.next_cursor });
    await this.audit({
      tenant, action: 'import', actor: 'runtime', integration: plan.spec.provider, method_id: plan.spec.method_id, outcome: 'pending', trace_id: traceId,
      detail: { batch_id: batchId, records: items.length, queued: queued.length },
    });
    const meta: ResultMeta = { ...result.meta, latency_ms: elapsed(started) };
    const pending = queued.filter((q) => q.status === 'pending').length;
    meta['review'] = { batch_id: batchId, records: items.length, pending };
    // A re-import absorbs records already decided: only the pending ones wait for a person.
    return errorResult('REVIEW_REQUIRED', `${pending} of ${items.length} imported record(s) wait for review (batch ${batchId}); they are untrusted until a person approves them`, meta);
  }

  /** Records of an import batch, once reviewed: REVIEW_REQUIRED while any is pending. */
  async importedRecords(tenant: string, batchId: string): Promise<IntegrationResult> {
    const items = await this.store.listReviews({ tenant, batch_id: batchId });
    const meta = emptyMeta('botc', `review:${batchId}`);
    if (items.length === 0) return errorResult('NOT_FOUND', `no import batch ${batchId}`, meta);
    const pending = items.filter((i) => i.status === 'pending').length;
    if (pending > 0) return errorResult('REVIEW_REQUIRED', `${pending} record(s) of batch ${batchId} are not reviewed yet`, meta);
    const records = items.filter((i) => i.status === 'approved').map((i) => JSON.parse(i.record_json) as unknown);
    return okResult({ batch_id: batchId, records, rejected: items.length - records.length }, meta);
  }

  /** A call with an idempotency key: run at most once per key, across processes (see IdempotencyGate). */
  private idempotent(spec: MethodSpec, args: CallArgs, tenant: string, started: number, perform: () => Promise<IntegrationResult>, claim = true): Promise<IntegrationResult> {
    const digest = sha256(canonicalJson({ params: args.params, cursor: args.cursor ?? null, dry_run: args.dry_run ?? false }));
    return this.gate.run({ tenant, method_id: spec.method_id, key: args.idempotency_key!, args_sha256: digest, started }, perform, { claim });
  }

  private async status(tool: BundleTool, tenant: string) {
    const providers = [];
    for (const provider of providersOf(this.bundle, tool)) {
      const credential = await this.options.credentials?.get(tenant, provider).catch((error: unknown) => {
        if (error instanceof CredentialUnavailableError) return undefined;
        throw error;
      });
      const auth = await this.authStatus(provider, tenant, credential);
      // Only the AuthStatus fields reach the caller, never whatever else the provider returned.
      const scopes = Array.isArray(auth?.scopes) && auth.scopes.every((s) => typeof s === 'string') ? [...auth.scopes] : undefined;
      const detail = typeof auth?.detail === 'string' ? scrub(auth.detail, credential?.secret).slice(0, 500) : undefined;
      providers.push({
        provider,
        lifecycle: this.bundle.integrations[provider]!.lifecycle,
        authenticated: auth?.authenticated === true,
        ...(scopes ? { scopes } : {}),
        ...(detail !== undefined ? { detail } : {}),
      });
    }
    return { tool: tool.name, tenant, providers };
  }

  /** A provider's auth status, bounded by the call timeout like any call. */
  private async authStatus(provider: string, tenant: string, credential: Credential | undefined): Promise<AuthStatus> {
    const timeout = this.options.timeout_ms ?? DEFAULT_TIMEOUT_MS;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<AuthStatus>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve({ authenticated: false, detail: `the provider did not report its status within ${timeout} ms` });
      }, timeout);
    });
    const ctx = { tenant, trace_id: randomUUID(), signal: controller.signal, classification: this.bundle.integrations[provider]!.classification, ...(credential ? { credential: { secret: credential.secret, scopes: [...credential.scopes] } } : {}) };
    try {
      // Copied into plain data here, inside the try: a getter or Proxy trap that throws is a failed status.
      return plainAuthStatus(await Promise.race([this.instances.get(provider)!.authStatus(ctx), timedOut]));
    } catch {
      return { authenticated: false, detail: 'the provider failed to report its status' };
    } finally {
      clearTimeout(timer);
    }
  }

  /** The tenant's credential when the method needs one, checked for least privilege. */
  private async credential(tenant: string, spec: MethodSpec): Promise<CredentialCheck> {
    const source = this.options.credentials;
    let credential: Credential | undefined;
    try {
      credential = source ? await source.get(tenant, spec.provider) : undefined;
    } catch (error) {
      // A store that cannot be read (a wrong BOTC_SECRET_KEY) is said as such, not as INTERNAL_ERROR.
      if (error instanceof CredentialUnavailableError) return { code: 'AUTH_REQUIRED', message: error.message };
      throw error;
    }
    return checkScopes(tenant, spec, credential);
  }

  /** Writes an audit entry; a result whose audit entry cannot be written is not returned as a success. */
  private async audited(result: IntegrationResult, entry: AuditInput): Promise<IntegrationResult> {
    try {
      await this.store.appendAudit(entry);
      return result;
    } catch {
      return errorResult('INTERNAL_ERROR', 'the call could not be audited; treat its outcome as unknown', result.meta);
    }
  }

  private async audit(entry: AuditInput): Promise<void> {
    await this.store.appendAudit(entry);
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}

/**
 * The longest one call may take, after which a claim on its idempotency key counts as abandoned:
 * every attempt's timeout and the backoffs between them, plus time to record the outcome (the
 * store may wait for a lock).
 */
function leaseMs(options: RuntimeOptions): number {
  const policy = options.retry_policy ?? NO_RETRIES;
  const attempts = Math.max(1, policy.max_attempts);
  return attempts * (options.timeout_ms ?? DEFAULT_TIMEOUT_MS) + (attempts - 1) * policy.max_backoff_ms + LEASE_MARGIN_MS;
}

/**
 * An import's result with its records held back: REVIEW_REQUIRED, with how many records there
 * are. Used for a dry run (nothing is queued) and for a stored import result replayed by key.
 */
function withheldImport(result: IntegrationResult & { ok: true }): IntegrationResult {
  const records = importedRecords(result.data).length;
  const meta: ResultMeta = { ...result.meta };
  const dryRun = meta['dry_run'] === true;
  meta['review'] = { batch_id: null, records, pending: 0, queued: false };
  const what = dryRun ? `dry run: ${records} imported record(s) would wait for review; nothing was queued` : `${records} imported record(s) are not reviewed`;
  return errorResult('REVIEW_REQUIRED', `${what}, and imported records reach the caller only after a person approves them`, meta);
}

type CredentialCheck = { value: Credential | undefined } | { code: 'AUTH_REQUIRED' | 'AUTH_FORBIDDEN'; message: string };

/** Least privilege: a method runs only with a credential whose scopes cover its `auth_scopes`. */
const NO_CREDENTIAL: CredentialCheck = Object.freeze({ value: undefined });

function checkScopes(tenant: string, spec: MethodSpec, credential: Credential | undefined): CredentialCheck {
  if (spec.auth_scopes.length === 0) return credential ? { value: credential } : NO_CREDENTIAL;
  if (!credential) return { code: 'AUTH_REQUIRED', message: `tenant \`${tenant}\` has no ${spec.provider} credential` };
  const missing = spec.auth_scopes.filter((s) => !credential.scopes.includes(s));
  if (missing.length > 0) {
    return { code: 'AUTH_FORBIDDEN', message: `the ${spec.provider} credential of tenant \`${tenant}\` lacks scope ${missing.join(', ')}` };
  }
  return { value: credential };
}

/** What a confirmation remembers of a call: everything needed to send it later, unchanged. */
function storedCall(args: CallArgs): Omit<CallArgs, 'method_id' | 'dry_run'> {
  const out: Omit<CallArgs, 'method_id' | 'dry_run'> = { params: args.params };
  if (args.cursor !== undefined) out.cursor = args.cursor;
  if (args.idempotency_key !== undefined) out.idempotency_key = args.idempotency_key;
  return out;
}

/** The `call` envelope's args, or why they are malformed. */
function parseCallArgs(raw: unknown): CallArgs | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return '`call` needs args `{method_id, params}`';
  const args = raw as Record<string, unknown>;
  for (const key in args) {
    if (!CALL_ARGS.has(key)) {
      const extra = Object.keys(args).filter((k) => !CALL_ARGS.has(k));
      return `unknown args ${extra.map((k) => `\`${k.slice(0, 40)}\``).join(', ')}`;
    }
  }
  const methodId = args['method_id'];
  if (typeof methodId !== 'string') return '`method_id` must be a string';
  const params = args['params'] === undefined ? {} : args['params'];
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return '`params` must be an object';
  const cursor = args['cursor'];
  if (cursor !== undefined && typeof cursor !== 'string') return '`cursor` must be a string';
  const dryRun = args['dry_run'];
  if (dryRun !== undefined && typeof dryRun !== 'boolean') return '`dry_run` must be a boolean';
  const key = args['idempotency_key'];
  if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 200)) return '`idempotency_key` must be a string of 1 to 200 characters';
  const out: CallArgs = { method_id: methodId, params: params as Record<string, unknown> };
  if (cursor !== undefined) out.cursor = cursor;
  if (dryRun !== undefined) out.dry_run = dryRun;
  if (key !== undefined) out.idempotency_key = key;
  return out;
}

function sameJson(a: unknown, b: unknown): boolean {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false;
  }
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}

export type { IntegrationCall };
