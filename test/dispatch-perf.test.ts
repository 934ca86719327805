/**
 * The shortcuts of the dispatch hot path (issue 14) decide exactly what the general code
 * decides: the standard `call` args check against ajv, the envelope copy of a plain call object
 * against the spread copy of any other, and the single attempt's clock readings. Uses the
 * runtime workspace (test/fixtures-runtime/, bot `runbot`).
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { build } from '../src/build/build.ts';
import type { Bundle, BundleTool } from '../src/bundle/format.ts';
import { boundToolCall } from '../src/runtime/envelope-bounds.ts';
import { CallArgsValidator } from '../src/runtime/params.ts';
import { Runtime } from '../src/runtime/runtime.ts';
import { Validators } from '../src/runtime/validators.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures-runtime/', import.meta.url));
const ECHO = 'probe.echo.get.v1';

let bundle: Bundle;

beforeAll(async () => {
  const result = await build({ root: FIXTURE, write: false });
  expect(result.diagnostics).toEqual([]);
  bundle = result.built[0]!;
});

describe('the standard `call` args check', () => {
  it('accepts and refuses exactly what ajv does, with ajv\'s messages', () => {
    const reads = bundle.tools.find((t) => t.name === 'reads')!;
    const fast = new CallArgsValidator(new Validators(), reads);
    // The same schema with another description is not recognised as the standard one: ajv only.
    const parameters = structuredClone(reads.parameters) as { properties: { args: { description: string } } };
    parameters.properties.args.description = 'Arguments (reworded).';
    const ajvOnly = new CallArgsValidator(new Validators(), { ...reads, parameters } as BundleTool);
    const astral = '\u{1F600}'.repeat(150); // 300 UTF-16 code units, 150 code points
    const cases: unknown[] = [
      { method_id: ECHO },
      { method_id: ECHO, params: { tag: 'x' }, cursor: 'c', dry_run: false, idempotency_key: 'k' },
      { method_id: ECHO, params: undefined, cursor: undefined },
      { method_id: ECHO, idempotency_key: '' },
      { method_id: ECHO, idempotency_key: 'k'.repeat(200) },
      { method_id: ECHO, idempotency_key: 'k'.repeat(201) },
      { method_id: ECHO, idempotency_key: astral },
      { method_id: ECHO, params: [] },
      { method_id: ECHO, params: null },
      { method_id: ECHO, params: 'p' },
      { method_id: 7 },
      { params: {} },
      { method_id: ECHO, dry_run: 'yes' },
      { method_id: ECHO, cursor: 5 },
      { method_id: ECHO, surprise: 1 },
      { method_id: ECHO, constructor: 1 },
      Object.assign(Object.create(null) as object, { method_id: ECHO }),
    ];
    for (const args of cases) expect(fast.parse(args), JSON.stringify(args)?.slice(0, 80)).toEqual(ajvOnly.parse(args));
    // The built tool's schema is the standard one: common args never reach ajv.
    const validators = new Validators();
    const checks = vi.spyOn(validators, 'check');
    const counted = new CallArgsValidator(validators, reads);
    counted.parse({ method_id: ECHO, params: {} });
    expect(checks).not.toHaveBeenCalled();
    counted.parse({ method_id: ECHO, surprise: 1 });
    expect(checks).toHaveBeenCalledTimes(1);
    expect(fast.parse({ method_id: ECHO, idempotency_key: '' })).toBe('`call` args: `idempotency_key`: must be at least 1 characters long');
    expect(fast.parse({ method_id: ECHO, idempotency_key: astral })).toMatchObject({ idempotency_key: astral });
  });
});

describe('the envelope copy', () => {
  it('reads each field of a plain call object once and keeps only the envelope\'s fields', () => {
    const reads: string[] = [];
    const call = {} as Record<string, unknown>;
    for (const [field, value] of Object.entries({ expert: 'operator', tool: 'reads', op: 'call', args: { method_id: ECHO }, tenant: 't1', extra: 'x' })) {
      Object.defineProperty(call, field, { enumerable: true, get: () => (reads.push(field), value) });
    }
    const { call: bounded, problem } = boundToolCall(call as never);
    expect(problem).toBeUndefined();
    expect(bounded).toEqual({ expert: 'operator', tool: 'reads', op: 'call', args: { method_id: ECHO }, tenant: 't1' });
    expect(reads.sort()).toEqual(['args', 'expert', 'op', 'tenant', 'tool']);
  });

  it('bounds a class instance or a null-prototype call as it bounds a plain one', () => {
    class Call {
      constructor(readonly expert: string, readonly tool: string, readonly op: string, readonly tenant: string) {}
    }
    const plain = { expert: 'operator', tool: 'reads', op: 'call', tenant: 'x'.repeat(129) };
    const bare = Object.assign(Object.create(null) as object, plain);
    const expected = boundToolCall(plain);
    expect(expected.problem).toBe('`tenant` is 129 characters long; the limit is 128');
    expect(boundToolCall(new Call(plain.expert, plain.tool, plain.op, plain.tenant))).toEqual(expected);
    expect(boundToolCall(bare as typeof plain)).toEqual(expected);
    expect(boundToolCall({ ...plain, tenant: undefined })).toEqual({ call: { expert: 'operator', tool: 'reads', op: 'call' }, problem: undefined });
  });
});

describe('a read\'s clock readings', () => {
  it('report the attempt\'s latency within the call\'s, both from one reading at the end', async () => {
    const runtime = await Runtime.load(bundle, { root: FIXTURE });
    const result = await runtime.callTool({ expert: 'operator', tool: 'reads', op: 'call', args: { method_id: ECHO, params: { tag: 'clock' } } });
    expect(result.ok, JSON.stringify(result).slice(0, 300)).toBe(true);
    const attempts = result.meta['attempts'] as { attempt: number; latency_ms: number }[];
    expect(attempts).toHaveLength(1);
    expect(attempts[0]!.latency_ms).toBeGreaterThanOrEqual(0);
    expect(attempts[0]!.latency_ms).toBeLessThanOrEqual(result.meta.latency_ms);
    await runtime.close();
  });
});
