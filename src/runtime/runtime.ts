// Over 300 lines: the Runtime class is the public entry of every governed call (tool calls, confirmations, sync pages), documented in one place.
import { randomUUID, type KeyObject } from 'node:crypto';
import type { Bundle } from '../bundle/format.ts';
import type { Integration, IntegrationCall, IntegrationResult, RetryPolicy } from '../integration/types.ts';
import { WorkspaceFiles } from '../load/files.ts';
import { describeLoadError, importModule } from '../load/modules.ts';
import type { AuditInput, StateStore } from '../state/types.ts';
import { audited, outcomeOf, unaudited } from './audit.ts';
import { BundleLoadError, runtimeIntegration, verifyDeclaredMethods, verifyMethodProviders, verifyModules, verifyRegistry } from './bundle.ts';
import { loadBundle } from './bundle-load.ts';
import { confirmStored } from './confirm.ts';
import { rejectConfirmation, type RejectRequest } from './confirmations.ts';
import type { CredentialSource } from '../integration/credentials.ts';
import { checkScopes } from './scopes.ts';
import { boundConfirmRequest, boundDecision, boundToolCall } from './envelope-bounds.ts';
import { elapsed, type CallRecord } from './executor.ts';
import { reviewedRecords } from './imports.ts';
import type { CallArgs } from './params.ts';
import { RuntimeParts } from './parts.ts';
import { emptyMeta, errorResult } from './results.ts';
import { verifyBundleSignature } from './signature.ts';
import { callContext, dispatch } from './steps.ts';
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

/**
 * Loads a bundle and its integration modules, then dispatches tool calls through the ordered
 * steps of steps.ts (DISPATCH_STEPS; README, Running bundles) under the governance rules:
 * read-only integrations never write, outbound writes wait for a person's confirmation
 * (confirmations.ts, confirm.ts), imports wait in the review queue (imports.ts), keyed calls
 * run once (idempotency.ts), and every call is audited (audit.ts). Every failure is a result
 * with a closed error code; nothing throws to the caller.
 */
export class Runtime {
  readonly bundle: Bundle;
  private readonly parts: RuntimeParts;

  private constructor(bundle: Bundle, instances: Map<string, Integration>, options: RuntimeOptions) {
    this.bundle = bundle;
    this.parts = new RuntimeParts(bundle, instances, options);
  }

  /**
   * Whether this deployment lets any person of the tenant approve a write whose call names no
   * approver (`RuntimeOptions.any_approver`). Adapters read it to refuse, when they are created,
   * a configuration whose writes could never be confirmed.
   */
  get anyApprover(): boolean {
    return this.parts.options.any_approver === true;
  }

  /**
   * Loads a bundle file or object; refuses a changed bundle or changed module sources. Options
   * the caller leaves out are read from the workspace's botc.config.json (`withWorkspaceConfig`).
   */
  static async load(bundle: string | Bundle, options: RuntimeOptions): Promise<Runtime> {
    const verified = await loadBundle(bundle, options.root);
    options = await withWorkspaceConfig(options, Object.keys(verified.integrations));
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
    const parts = this.parts;
    const started = performance.now();
    const traceId = input.trace_id ?? randomUUID();
    const meta = () => emptyMeta('botc', `sync:${input.method_id.slice(0, 120)}`, elapsed(started));
    const plan = parts.plans.get(input.method_id);
    let result: IntegrationResult;
    try {
      if (!plan) result = errorResult('UNKNOWN_METHOD', `the bundle has no method \`${input.method_id.slice(0, 120)}\``, meta());
      else if (!plan.governance.ok || plan.governance.kind !== 'import') result = errorResult('VALIDATION_FAILED', `\`${plan.spec.method_id}\` is not an import method; a sync stream pulls through one`, meta());
      else if (plan.integration.lifecycle === 'end_of_support') result = errorResult('INTEGRATION_DISABLED', `integration \`${plan.spec.provider}\` has reached end of support and is disabled`, meta());
      else {
        const invalid = parts.validators.check(plan.spec.input_schema, input.params);
        const credential = invalid ? undefined : parts.options.credentials ? await parts.credential(input.tenant, plan.spec) : checkScopes(input.tenant, plan.spec, undefined);
        if (invalid) result = errorResult('VALIDATION_FAILED', `params do not match ${plan.spec.method_id}: ${invalid}`, meta());
        else if (credential && 'code' in credential) result = errorResult(credential.code, credential.message, meta());
        else {
          const args: CallArgs = { method_id: plan.spec.method_id, params: input.params };
          if (input.cursor !== undefined) args.cursor = input.cursor;
          result = await parts.executor.invoke({ plan, args, tenant: input.tenant, traceId, credential: credential?.value, started, record: undefined });
        }
      }
    } catch {
      result = errorResult('INTERNAL_ERROR', 'the runtime failed while running the sync page', meta());
    }
    await parts.store.appendAudit({
      tenant: input.tenant, action: 'sync.page', actor: 'runtime', integration: plan?.spec.provider ?? null, method_id: plan?.spec.method_id ?? null,
      outcome: outcomeOf(result), trace_id: traceId, detail: { latency_ms: result.meta.latency_ms },
    });
    return result;
  }

  /**
   * Runs one tool call through the dispatch steps and audits it. Never throws: every failure is
   * an IntegrationResult error. The result is returned once its audit entry is written (or
   * marked unaudited when the write failed). Not `async`: the common read hands its audit entry
   * to the executor (`Invocation.deliver`), and its promise is the call's, with no hop of its own.
   */
  callTool(input: ToolCall): Promise<IntegrationResult> {
    const started = performance.now();
    // Every caller-supplied field is bounded before it is stored or echoed (envelope-bounds.ts).
    const { call, problem } = boundToolCall(input);
    const tenant = call.tenant ?? 'default';
    const traceId = call.trace_id ?? this.parts.traceId();
    const record: CallRecord = { method_id: null, provider: null, detail: { expert: call.expert, tool: call.tool, op: call.op } };
    const finish = (result: IntegrationResult | undefined, resolve: (result: IntegrationResult) => void): void =>
      this.audit(call, tenant, traceId, record, result ?? internalError(call, started), resolve);
    let dispatched: IntegrationResult | Promise<IntegrationResult>;
    try {
      if (problem) {
        dispatched = errorResult('VALIDATION_FAILED', problem, emptyMeta('botc', null, elapsed(started)));
      } else {
        const ctx = callContext(call, tenant, traceId, started, record, finish);
        dispatched = dispatch(this.parts, ctx);
        // The governed call audits as the integration answers: its promise is the call's.
        if (ctx.delivers === true) return dispatched as Promise<IntegrationResult>;
        // Else this audits, and a step that runs later must not.
        ctx.deliver = undefined;
      }
    } catch {
      // A bug in the runtime itself: report it without its details.
      dispatched = internalError(call, started);
    }
    return new Promise((resolve) => {
      if (!(dispatched instanceof Promise)) finish(dispatched, resolve);
      else dispatched.then((result) => finish(result, resolve), () => finish(undefined, resolve));
    });
  }

  /**
   * Writes the audit entry of a tool call, then resolves with its result (unaudited when the
   * write failed). Never throws. A store that can append synchronously (`appendAuditSync`: the
   * memory store, SQLite with nothing queued) resolves before this returns, with no promise hop.
   */
  private audit(call: ToolCall, tenant: string, traceId: string, record: CallRecord, result: IntegrationResult, resolve: (result: IntegrationResult) => void): void {
    record.detail['latency_ms'] = result.meta.latency_ms;
    const store = this.parts.store;
    const entry: AuditInput = {
      tenant,
      action: call.op === 'call' ? 'call' : 'query',
      actor: `expert:${call.expert}`,
      integration: record.provider,
      method_id: record.method_id,
      outcome: outcomeOf(result),
      trace_id: traceId,
      detail: record.detail,
    };
    let written: Promise<unknown>;
    try {
      if (store.appendAuditSync !== undefined && store.appendAuditSync(entry) !== undefined) {
        resolve(result);
        return;
      }
      written = store.appendAudit(entry);
    } catch {
      resolve(unaudited(result));
      return;
    }
    // Promise.resolve: a store whose write is not a promise, or whose `then` throws, still settles the call.
    Promise.resolve(written).then(() => resolve(result), () => resolve(unaudited(result)));
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
      if (problem) return await this.refusedRequest(request, problem, started);
      return await confirmStored(this.parts, request, { token: request.token }, started);
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
      if (problem) return await this.refusedRequest(request, problem, started);
      return await confirmStored(this.parts, request, { id: request.id }, started);
    } catch {
      return errorResult('INTERNAL_ERROR', 'the runtime failed while handling the confirmation', emptyMeta('botc', 'confirmation', elapsed(started)));
    }
  }

  /** A malformed confirmation request, refused and audited before anything is looked up. */
  private refusedRequest(request: { tenant?: string; approver: string; trace_id?: string }, problem: string, started: number): Promise<IntegrationResult> {
    return audited(this.parts.store, errorResult('VALIDATION_FAILED', problem, emptyMeta('botc', 'confirmation', elapsed(started))), {
      tenant: request.tenant ?? 'default', action: 'confirmation.rejected', actor: `user:${request.approver}`, integration: null, method_id: null, outcome: 'VALIDATION_FAILED', trace_id: request.trace_id ?? randomUUID(), detail: { message: problem },
    });
  }

  /**
   * A person rejects a pending confirmation by its public id: it can then never be used, and the
   * decision (with `reason`) is audited. See `rejectConfirmation` for the outcomes.
   */
  async reject(input: RejectRequest): Promise<IntegrationResult> {
    try {
      return await rejectConfirmation(this.parts.store, input, this.parts.now());
    } catch {
      return errorResult('INTERNAL_ERROR', 'the runtime failed while handling the rejection', emptyMeta('botc', 'confirmation'));
    }
  }

  /** Records of an import batch, once reviewed: REVIEW_REQUIRED while any is pending. */
  importedRecords(tenant: string, batchId: string): Promise<IntegrationResult> {
    return reviewedRecords(this.parts, tenant, batchId);
  }

  async close(): Promise<void> {
    await this.parts.store.close();
  }
}

/** What a tool call answers when the runtime itself failed: no details of the failure. */
function internalError(call: ToolCall, started: number): IntegrationResult {
  return errorResult('INTERNAL_ERROR', 'the runtime failed while handling the call', emptyMeta('botc', `tool:${call.tool}`, elapsed(started)));
}

export type { IntegrationCall };
