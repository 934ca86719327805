import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { canonicalJson, sha256 } from '../bundle/canonical.ts';
import type { Bundle, BundleTool } from '../bundle/format.ts';
import type {
  AuthStatus, CallContext, Integration, IntegrationCall, IntegrationResult, MethodSpec, RetryPolicy,
} from '../integration/types.ts';
import { WorkspaceFiles } from '../load/files.ts';
import { describeLoadError, importModule } from '../load/modules.ts';
import { TOOL_OPS, type ToolOp } from '../tools/envelope.ts';
import { help, listMethods, listProviders, providersOf } from '../tools/ops.ts';
import { BundleLoadError, readBundle, verifyBundle, verifyModules } from './bundle.ts';
import type { Credential, CredentialSource } from './credentials.ts';
import { emptyMeta, errorResult, okResult, sanitizeResult, scrub } from './results.ts';
import { MemoryStore, type StateStore } from './store.ts';
import { Validators } from './validators.ts';

/** One tool call as an agent runtime receives it (SPEC §8). */
export interface ToolCall {
  expert: string;
  tool: string;
  op: string;
  args?: unknown;
  tenant?: string;
  trace_id?: string;
}

export interface RuntimeOptions {
  /** The workspace root holding `integrations/`. */
  root: string;
  credentials?: CredentialSource;
  store?: StateStore;
  /** Per-provider configuration, such as `base_url`. Never secrets. */
  providerConfig?: Record<string, Record<string, unknown>>;
  timeout_ms?: number;
  retry_policy?: RetryPolicy;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** No retries unless the deployment declares them: failures surface, they are not hidden. */
const NO_RETRIES: RetryPolicy = { max_attempts: 1, backoff_ms: 0, max_backoff_ms: 0 };
const MAX_PARAMS_BYTES = 1024 * 1024;
const CALL_ARGS = new Set(['method_id', 'params', 'cursor', 'dry_run', 'idempotency_key']);

/** How a call with an idempotency key settled: run now (`fresh`) or found in the store. */
interface Settled {
  digest: string;
  result: IntegrationResult;
  fresh: boolean;
}

interface AttemptRecord {
  attempt: number;
  ok: boolean;
  code: string | null;
  latency_ms: number;
}

/**
 * Loads a bundle and its integration modules, then dispatches tool calls in the fixed order
 * of SPEC §8: expert may use tool → op exists → method belongs to tool → params valid →
 * integration call (timeout, declared retries) → output valid. Every failure is a result
 * with a closed error code; nothing throws to the caller.
 */
export class Runtime {
  readonly bundle: Bundle;
  private readonly integrations: Map<string, Integration>;
  private readonly options: RuntimeOptions;
  private readonly store: StateStore;
  private readonly validators = new Validators();
  private readonly tools: Map<string, BundleTool>;
  private readonly expertTools: Map<string, Set<string>>;
  private readonly inFlight = new Map<string, Promise<Settled>>();

  private constructor(bundle: Bundle, integrations: Map<string, Integration>, options: RuntimeOptions) {
    this.bundle = bundle;
    this.integrations = integrations;
    this.options = options;
    this.store = options.store ?? new MemoryStore();
    this.tools = new Map(bundle.tools.map((t) => [t.name, t]));
    this.expertTools = new Map(bundle.experts.map((e) => [e.name, new Set(e.tools)]));
  }

  /** Loads a bundle file or object; refuses a changed bundle or changed module sources. */
  static async load(bundle: string | Bundle, options: RuntimeOptions): Promise<Runtime> {
    const verified = typeof bundle === 'string' ? readBundle(bundle) : verifyBundle(bundle);
    const files = new WorkspaceFiles(options.root);
    verifyModules(verified, files);
    const integrations = new Map<string, Integration>();
    for (const [provider, recorded] of Object.entries(verified.integrations)) {
      const file = `integrations/${recorded.module}`;
      let namespace: Record<string, unknown>;
      try {
        namespace = await importModule(files.absolute(file), recorded.sha256);
      } catch (error) {
        throw new BundleLoadError(`module ${file} fails to load: ${describeLoadError(error, files.root)}`);
      }
      const Constructor = namespace[recorded.export];
      if (typeof Constructor !== 'function') throw new BundleLoadError(`module ${file} has no export ${recorded.export}`);
      const instance = new (Constructor as new (context: unknown) => Integration)({
        phase: 'runtime',
        provider,
        config: options.providerConfig?.[provider] ?? {},
      });
      integrations.set(provider, instance);
    }
    return new Runtime(verified, integrations, options);
  }

  /** Runs one tool call. Never throws: every failure is an IntegrationResult error. */
  async callTool(call: ToolCall): Promise<IntegrationResult> {
    const started = performance.now();
    const tenant = call.tenant ?? 'default';
    const traceId = call.trace_id ?? randomUUID();
    const meta = () => emptyMeta('botc', `tool:${call.tool}`, elapsed(started));
    try {
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
      if (op === 'call') return await this.dispatch(tool, call.args, tenant, traceId, started);
      if (call.args !== undefined && call.args !== null && !isEmptyObject(call.args)) {
        return errorResult('VALIDATION_FAILED', `op \`${op}\` takes no args`, meta());
      }
      switch (op) {
        case 'help':
          return okResult(help(this.bundle, tool), meta());
        case 'list_methods':
          return okResult(listMethods(this.bundle, tool), meta());
        case 'list_providers':
          return okResult(listProviders(this.bundle, tool), meta());
        case 'status':
          return okResult(await this.status(tool, tenant, traceId), meta());
      }
    } catch {
      // A bug in the runtime itself: report it without its details.
      return errorResult('INTERNAL_ERROR', 'the runtime failed while handling the call', meta());
    }
  }

  private async status(tool: BundleTool, tenant: string, traceId: string) {
    const providers = [];
    for (const provider of providersOf(this.bundle, tool)) {
      const credential = await this.credential(tenant, provider);
      const timeout = this.options.timeout_ms ?? DEFAULT_TIMEOUT_MS;
      const controller = new AbortController();
      const ctx = this.context(tenant, traceId, provider, credential, controller.signal);
      let timer: NodeJS.Timeout | undefined;
      // A provider that never answers must not hang `status`: it gets timeout_ms, like a call.
      const timedOut = new Promise<AuthStatus>((resolve) => {
        timer = setTimeout(() => {
          controller.abort();
          resolve({ authenticated: false, detail: `the provider did not report its status within ${timeout} ms` });
        }, timeout);
      });
      let auth: AuthStatus;
      try {
        auth = await Promise.race([this.integrations.get(provider)!.authStatus(ctx), timedOut]);
      } catch {
        auth = { authenticated: false, detail: 'the provider failed to report its status' };
      } finally {
        clearTimeout(timer);
      }
      // Only the AuthStatus fields reach the caller, never whatever else the provider returned.
      const scopes = Array.isArray(auth?.scopes) && auth.scopes.every((s) => typeof s === 'string') ? [...auth.scopes] : undefined;
      const detail = typeof auth?.detail === 'string' ? scrub(auth.detail, credential?.secret).slice(0, 500) : undefined;
      providers.push({ provider, lifecycle: this.bundle.integrations[provider]!.lifecycle, authenticated: auth?.authenticated === true, ...(scopes ? { scopes } : {}), detail });
    }
    return { tool: tool.name, tenant, providers };
  }

  private async dispatch(tool: BundleTool, rawArgs: unknown, tenant: string, traceId: string, started: number): Promise<IntegrationResult> {
    const meta = () => emptyMeta('botc', `tool:${tool.name}`, elapsed(started));
    const args = parseCallArgs(rawArgs);
    if (typeof args === 'string') return errorResult('VALIDATION_FAILED', args, meta());
    if (!tool.methods.includes(args.method_id)) {
      return errorResult('UNKNOWN_METHOD', `tool \`${tool.name}\` has no method \`${args.method_id.slice(0, 120)}\`; methods: ${tool.methods.join(', ')}`, meta());
    }
    const spec = this.bundle.methods[args.method_id]!;
    const integration = this.bundle.integrations[spec.provider]!;
    if (integration.lifecycle === 'end_of_support') {
      return errorResult('INTEGRATION_DISABLED', `integration \`${spec.provider}\` has reached end of support`, meta());
    }
    let paramsBytes: number;
    try {
      paramsBytes = Buffer.byteLength(JSON.stringify(args.params));
    } catch {
      // Cyclic, nested past the stack, or holding values JSON cannot carry (BigInt).
      return errorResult('VALIDATION_FAILED', 'params are not JSON: cyclic, too deeply nested, or holding values JSON cannot carry', meta());
    }
    if (paramsBytes > MAX_PARAMS_BYTES) {
      return errorResult('VALIDATION_FAILED', `params are ${paramsBytes} bytes, over the ${MAX_PARAMS_BYTES}-byte cap`, meta());
    }
    const invalid = this.validators.check(spec.input_schema, args.params);
    if (invalid) return errorResult('VALIDATION_FAILED', `params do not match ${spec.method_id}: ${invalid}`, meta());

    const credential = await this.credential(tenant, spec.provider);
    if (spec.auth_scopes.length > 0) {
      if (!credential) return errorResult('AUTH_REQUIRED', `tenant \`${tenant}\` has no ${spec.provider} credential`, meta());
      const missing = spec.auth_scopes.filter((s) => !credential.scopes.includes(s));
      if (missing.length > 0) {
        return errorResult('AUTH_FORBIDDEN', `the ${spec.provider} credential of tenant \`${tenant}\` lacks scope ${missing.join(', ')}`, meta());
      }
    }

    if (args.idempotency_key === undefined) return this.execute(spec, args, tenant, traceId, credential, started);
    const argsDigest = sha256(canonicalJson({ params: args.params, cursor: args.cursor ?? null, dry_run: args.dry_run ?? false }));
    const key = args.idempotency_key;
    const flightKey = JSON.stringify([tenant, spec.method_id, key]);
    // Looking for a call in flight and claiming the key happen in one synchronous step, before
    // any await: concurrent calls with one key wait for the first instead of racing past it.
    const pending = this.inFlight.get(flightKey);
    if (pending) {
      const settled = await pending;
      return this.replay(settled.result, settled.digest, argsDigest, started);
    }
    const leader = (async (): Promise<Settled> => {
      const stored = await this.store.getIdempotency(tenant, spec.method_id, key);
      if (stored) return { digest: stored.args_sha256, result: stored.result, fresh: false };
      const result = await this.execute(spec, args, tenant, traceId, credential, started);
      // Only definite outcomes are remembered; a retriable failure may be tried again with the key.
      if (result.ok || !result.error.retriable) {
        await this.store.putIdempotency(tenant, spec.method_id, key, { args_sha256: argsDigest, result });
      }
      return { digest: argsDigest, result, fresh: true };
    })();
    this.inFlight.set(flightKey, leader);
    try {
      const settled = await leader;
      return settled.fresh ? settled.result : this.replay(settled.result, settled.digest, argsDigest, started);
    } finally {
      this.inFlight.delete(flightKey);
    }
  }

  private replay(result: IntegrationResult, storedDigest: string, digest: string, started: number): IntegrationResult {
    if (storedDigest !== digest) {
      return errorResult('IDEMPOTENCY_CONFLICT', 'this idempotency key was already used with other arguments', emptyMeta('botc', null, elapsed(started)));
    }
    // A copy: what one caller does with its result never changes what the next replay returns.
    const copy = structuredClone(result);
    copy.meta['idempotent_replay'] = true;
    return copy;
  }

  private async execute(
    spec: MethodSpec,
    args: CallArgs,
    tenant: string,
    traceId: string,
    credential: Credential | undefined,
    started: number,
  ): Promise<IntegrationResult> {
    const policy = this.options.retry_policy ?? NO_RETRIES;
    const timeout = this.options.timeout_ms ?? DEFAULT_TIMEOUT_MS;
    const request: IntegrationCall = {
      trace_id: traceId,
      method_id: spec.method_id,
      args: args.params,
      timeout_ms: timeout,
      retry_policy: policy,
      ...(args.cursor !== undefined ? { cursor: args.cursor } : {}),
      ...(args.dry_run !== undefined ? { dry_run: args.dry_run } : {}),
      ...(args.idempotency_key !== undefined ? { idempotency_key: args.idempotency_key } : {}),
    };
    // Re-sending a write that is not idempotent could do it twice: only with a key.
    const mayRetry = spec.idempotency !== 'non_idempotent_write' || args.idempotency_key !== undefined;
    const attempts: AttemptRecord[] = [];
    let result: IntegrationResult;
    for (let attempt = 1; ; attempt++) {
      const attemptStarted = performance.now();
      result = await this.attempt(spec.provider, request, tenant, traceId, credential, timeout);
      attempts.push({ attempt, ok: result.ok, code: result.ok ? null : result.error.code, latency_ms: elapsed(attemptStarted) });
      if (result.ok || !result.error.retriable || !mayRetry || attempt >= policy.max_attempts) break;
      const wait = backoff(policy, attempt, result.meta['retry_after_ms']);
      if (wait === undefined) break;
      await sleep(wait);
    }
    if (result.ok && !args.dry_run) {
      const invalid = this.validators.check(spec.output_schema, result.data);
      if (invalid) {
        result = errorResult('OUTPUT_INVALID', `the provider's output does not match ${spec.method_id}: ${invalid}`, result.meta);
      }
    }
    result.meta.latency_ms = elapsed(started);
    result.meta['attempts'] = attempts;
    if (args.dry_run) result.meta['dry_run'] = true;
    return result;
  }

  private async attempt(
    provider: string,
    request: IntegrationCall,
    tenant: string,
    traceId: string,
    credential: Credential | undefined,
    timeout: number,
  ): Promise<IntegrationResult> {
    const controller = new AbortController();
    const fallback = emptyMeta(provider, null);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<IntegrationResult>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve(errorResult('TIMEOUT', `${provider} did not answer within ${timeout} ms`, fallback, { retriable: true }));
      }, timeout);
    });
    try {
      const ctx = this.context(tenant, traceId, provider, credential, controller.signal);
      const call = this.integrations
        .get(provider)!
        .call(request, ctx)
        .then(
          (value) => sanitizeResult(value, fallback, credential?.secret),
          () => errorResult('PROVIDER_ERROR', `${provider} failed unexpectedly`, fallback),
        );
      return await Promise.race([call, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  private context(tenant: string, traceId: string, provider: string, credential: Credential | undefined, signal: AbortSignal): CallContext {
    const ctx: CallContext = { tenant, trace_id: traceId, signal, classification: this.bundle.integrations[provider]!.classification };
    if (credential) ctx.credential = { secret: credential.secret, scopes: [...credential.scopes] };
    return ctx;
  }

  private async credential(tenant: string, provider: string): Promise<Credential | undefined> {
    return this.options.credentials?.get(tenant, provider);
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}

interface CallArgs {
  method_id: string;
  params: Record<string, unknown>;
  cursor?: string;
  dry_run?: boolean;
  idempotency_key?: string;
}

/** The `call` envelope's args, or why they are malformed. */
function parseCallArgs(raw: unknown): CallArgs | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return '`call` needs args `{method_id, params}`';
  const args = raw as Record<string, unknown>;
  const extra = Object.keys(args).filter((k) => !CALL_ARGS.has(k));
  if (extra.length > 0) return `unknown args ${extra.map((k) => `\`${k.slice(0, 40)}\``).join(', ')}`;
  if (typeof args['method_id'] !== 'string') return '`method_id` must be a string';
  const params = args['params'] === undefined ? {} : args['params'];
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return '`params` must be an object';
  if (args['cursor'] !== undefined && typeof args['cursor'] !== 'string') return '`cursor` must be a string';
  if (args['dry_run'] !== undefined && typeof args['dry_run'] !== 'boolean') return '`dry_run` must be a boolean';
  const key = args['idempotency_key'];
  if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 200)) return '`idempotency_key` must be a string of 1 to 200 characters';
  const out: CallArgs = { method_id: args['method_id'], params: params as Record<string, unknown> };
  if (typeof args['cursor'] === 'string') out.cursor = args['cursor'];
  if (typeof args['dry_run'] === 'boolean') out.dry_run = args['dry_run'];
  if (typeof key === 'string') out.idempotency_key = key;
  return out;
}

/** The wait before the next attempt, or undefined when the provider asks for longer than the policy allows. */
function backoff(policy: RetryPolicy, attempt: number, retryAfter: unknown): number | undefined {
  const exponential = Math.min(policy.max_backoff_ms, policy.backoff_ms * 2 ** (attempt - 1));
  if (typeof retryAfter !== 'number') return exponential;
  return retryAfter > policy.max_backoff_ms ? undefined : Math.max(exponential, retryAfter);
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}
