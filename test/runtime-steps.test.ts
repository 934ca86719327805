/**
 * The runtime as named steps (src/runtime/steps.ts): the dispatch order is one list, the
 * confirmation path runs the same step objects again, the `call` envelope's args are checked
 * against the bundle tool's own `parameters`, and trace ids stay unique without random bytes
 * per call. Uses the runtime workspace (test/fixtures-runtime/, bot `runbot`).
 */
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { build } from '../src/build/build.ts';
import type { Bundle, BundleTool } from '../src/bundle/format.ts';
import type { IntegrationResult } from '../src/integration/types.ts';
import { BundleLoadError } from '../src/runtime/bundle.ts';
import { confirmSteps } from '../src/runtime/confirm.ts';
import { CredentialUnavailableError, type CredentialSource } from '../src/integration/credentials.ts';
import { CallArgsValidator } from '../src/runtime/params.ts';
import { RuntimeParts } from '../src/runtime/parts.ts';
import { Runtime } from '../src/runtime/runtime.ts';
import { DISPATCH_STEPS, dispatchStep, type CallContext } from '../src/runtime/steps.ts';
import { Validators } from '../src/runtime/validators.ts';
import type { StoredConfirmation } from '../src/state/types.ts';
import { confirmationOf } from './helpers/governance.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures-runtime/', import.meta.url));
const SEND = 'sender.message.send.v1';
const ECHO = 'probe.echo.run.v1';

let bundle: Bundle;

beforeAll(async () => {
  const result = await build({ root: FIXTURE, write: false });
  expect(result.diagnostics).toEqual([]);
  bundle = result.built[0]!;
});

afterEach(() => {
  vi.restoreAllMocks();
});

function codeOf(result: IntegrationResult): string {
  expect(result.ok, JSON.stringify(result).slice(0, 400)).toBe(false);
  return result.ok ? 'ok' : result.error.code;
}

describe('the dispatch order is one list of named steps', () => {
  it('names every step, in the documented order', () => {
    expect(DISPATCH_STEPS.map((s) => s.name)).toEqual([
      'expert_may_use_tool',
      'op_exists',
      'approver_names_one_person',
      'answer_info_op',
      'args_match_envelope',
      'method_in_tool',
      'integration_enabled',
      'params_valid',
      'governance_allows',
      'cursor_sealed_here',
      'credential_in_scope',
      'run_governed',
    ]);
    expect(Object.isFrozen(DISPATCH_STEPS)).toBe(true);
  });

  it('confirm runs the same step objects as a call for the bundle rules and the credential', () => {
    const steps = confirmSteps({ method_id: SEND } as StoredConfirmation, { approver: 'alice' });
    const shared = ['expert_may_use_tool', 'method_in_tool', 'integration_enabled', 'governance_allows', 'credential_in_scope'];
    for (const name of shared) expect(steps).toContain(dispatchStep(name));
    // In the order of dispatch.
    const positions = shared.map((name) => steps.indexOf(dispatchStep(name)));
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(steps.map((s) => s.name)).toEqual([
      'method_known', 'expert_may_use_tool', 'method_in_tool', 'integration_enabled', 'governance_allows',
      'is_outbound_write', 'same_bot_and_bundle', 'same_params', 'credential_in_scope',
    ]);
  });

  it('a credential that becomes unavailable refuses the confirmation through the shared credential step', async () => {
    let unavailable = false;
    const credentials: CredentialSource = {
      async get(_tenant, provider) {
        if (unavailable) throw new CredentialUnavailableError('the credential store cannot be read');
        return provider === 'probe' ? { secret: 'sk_probe_secret_1', scopes: ['probe:read'] } : { secret: 'sk_sender_secret_1', scopes: [] };
      },
    };
    const runtime = await Runtime.load(bundle, { root: FIXTURE, credentials });
    const proposed = await runtime.callTool({ expert: 'operator', tool: 'writes', op: 'call', approver: 'alice', args: { method_id: SEND, params: { text: 'hi', tag: 'steps-confirm' } } });
    const { token } = confirmationOf(proposed);
    const step = dispatchStep('credential_in_scope');
    const stages: string[] = [];
    const original = step.run.bind(step);
    vi.spyOn(step, 'run').mockImplementation((parts, ctx: CallContext) => {
      stages.push(ctx.stage);
      return original(parts, ctx);
    });
    unavailable = true;
    const refused = await runtime.confirm({ token, approver: 'alice' });
    // A confirmation answers AUTH_FORBIDDEN for any credential problem, as it always has.
    expect(codeOf(refused)).toBe('AUTH_FORBIDDEN');
    expect(!refused.ok && refused.error.message).toContain('cannot be read');
    expect(stages).toEqual(['confirm']);
    // The same step refuses a tool call, with the call's own code.
    expect(codeOf(await runtime.callTool({ expert: 'operator', tool: 'writes', op: 'call', approver: 'alice', args: { method_id: SEND, params: { text: 'hi', tag: 'steps-call' } } }))).toBe('AUTH_REQUIRED');
    expect(stages).toEqual(['confirm', 'call']);
    // Nothing was used up: with the credential back, the same token confirms.
    unavailable = false;
    expect(await runtime.confirm({ token, approver: 'alice' })).toMatchObject({ ok: true });
    await runtime.close();
  });

  it('a confirmation whose expert may no longer use the tool is refused by the shared tool step', async () => {
    const runtime = await Runtime.load(bundle, { root: FIXTURE, credentials: { get: async () => ({ secret: 'sk_sender_secret_1', scopes: ['probe:read'] }) } });
    const step = dispatchStep('expert_may_use_tool');
    const parts = (runtime as unknown as { parts: RuntimeParts }).parts;
    const ctx: CallContext = {
      stage: 'confirm', call: { expert: 'viewer', tool: 'writes', op: 'call' }, tenant: 'default', traceId: 't', started: 0,
      record: { method_id: null, provider: null, detail: {} }, tool: undefined, args: { method_id: SEND, params: {} }, plan: undefined, credential: undefined,
    };
    expect(step.run(parts, ctx)).toEqual({ code: 'TOOL_NOT_ALLOWED', message: `expert \`viewer\` may no longer use ${SEND} through tool \`writes\`` });
    expect(step.run(parts, { ...ctx, stage: 'call' })).toEqual({ code: 'TOOL_NOT_ALLOWED', message: 'expert `viewer` may not use tool `writes`' });
    await runtime.close();
  });
});

describe('the `call` args are checked against the tool\'s own parameters schema', () => {
  const tool = (parameters: Record<string, unknown>): BundleTool => ({ ...bundle.tools.find((t) => t.name === 'reads')!, parameters });

  it('follows the bundle tool\'s `parameters`, not a hand-written list', () => {
    const reads = bundle.tools.find((t) => t.name === 'reads')!;
    const validator = new CallArgsValidator(new Validators(), reads);
    expect(validator.parse({ method_id: ECHO, params: { tag: 'x' }, dry_run: true })).toEqual({ method_id: ECHO, params: { tag: 'x' }, dry_run: true });
    expect(validator.parse({ method_id: ECHO })).toEqual({ method_id: ECHO, params: {} });
    expect(validator.parse({ method_id: ECHO, surprise: 1 })).toBe('`call` args: unknown property `surprise`');
    expect(validator.parse({ method_id: ECHO, dry_run: 'yes' })).toBe('`call` args: `dry_run`: must be a boolean, got a string');
    expect(validator.parse({ params: {} })).toBe('`call` args: missing property `method_id`');
    expect(validator.parse([ECHO])).toBe('`call` needs args `{method_id, params}`');
    // A method the tool lacks is left to the method step (UNKNOWN_METHOD), not refused here.
    expect(validator.parse({ method_id: 'other.x.y.v1' })).toMatchObject({ method_id: 'other.x.y.v1' });
    // A bundle whose envelope declares another argument accepts it.
    const params = reads.parameters as { properties: { args: { properties: Record<string, unknown> } } };
    const widened = structuredClone(params);
    widened.properties.args.properties['note'] = { type: 'string' };
    expect(new CallArgsValidator(new Validators(), tool(widened)).parse({ method_id: ECHO, note: 'n' })).toMatchObject({ method_id: ECHO });
  });

  it('an envelope error of a tool call is VALIDATION_FAILED naming the argument', async () => {
    const runtime = await Runtime.load(bundle, { root: FIXTURE });
    const result = await runtime.callTool({ expert: 'operator', tool: 'reads', op: 'call', args: { method_id: ECHO, params: { tag: 'x' }, cursor: 5 } });
    expect(codeOf(result)).toBe('VALIDATION_FAILED');
    expect(!result.ok && result.error.message).toBe('`call` args: `cursor`: must be a string, got an integer');
    await runtime.close();
  });
});

describe('trace ids', () => {
  it('are unique and shaped like a UUID across the blocks they are drawn in', () => {
    const parts = new RuntimeParts(bundle, new Map(), {});
    const seen = new Set<string>();
    for (let i = 0; i < 70_000; i++) seen.add(parts.traceId());
    expect(seen.size).toBe(70_000);
    for (const id of [...seen].slice(65_530, 65_540)) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('a tool whose parameters do not compile', () => {
  it('is a BundleLoadError naming the tool', () => {
    const reads = bundle.tools.find((t) => t.name === 'reads')!;
    const broken = { ...reads, parameters: { properties: { args: { type: 'object', properties: { method_id: { type: 'string' } }, maxLenght: 3 } } } };
    expect(() => new CallArgsValidator(new Validators(), broken)).toThrow(BundleLoadError);
    expect(() => new CallArgsValidator(new Validators(), broken)).toThrow(/tool reads: its parameters are not a valid JSON Schema/);
  });
});
