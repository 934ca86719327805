import { types } from 'node:util';

/**
 * Limits on every caller-supplied field of a tool call and a confirmation, applied when the
 * call enters the runtime, before anything is stored (audit log, confirmations, idempotency
 * records) or echoed in a message. Units are UTF-16 code units (JavaScript string length).
 *
 * - Names (`expert`, `tool`, `op`, `method_id`) longer than their limit cannot name anything
 *   (names are at most 64 characters, method ids at most 200): they are replaced by a clipped
 *   form that no name matches, and dispatch fails as for any unknown name (TOOL_NOT_ALLOWED,
 *   UNKNOWN_OP, UNKNOWN_METHOD), recording and echoing only the clipped form.
 * - Free-form values (`tenant`, `trace_id`, `approver`, `cursor`, `idempotency_key`, the
 *   confirmation `token` and `id`, a rejection's `reason`) longer than their limit, or not strings, make the call
 *   VALIDATION_FAILED; the audit entry of the refusal holds their clipped form.
 *
 * docs/security.md lists the limits; the README repeats them for callers.
 */
export const ENVELOPE_LIMITS = {
  expert: 64,
  tool: 64,
  op: 32,
  method_id: 200,
  tenant: 128,
  trace_id: 128,
  approver: 256,
  cursor: 16 * 1024,
  idempotency_key: 200,
  token: 512,
  confirmation_id: 64,
  reason: 1024,
} as const;

export type EnvelopeField = keyof typeof ENVELOPE_LIMITS;

/**
 * `text` cut to `limit` characters plus a marker with its real length, e.g.
 * `aaaa…(+20971456 chars)`. The marker holds `…`, which no name or method id may contain.
 */
export function clip(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}…(+${text.length - limit} chars)`;
}

/** The fields of a tool call that `boundToolCall` reads. */
export interface EnvelopeCall {
  expert: string;
  tool: string;
  op: string;
  args?: unknown;
  tenant?: string;
  trace_id?: string;
  approver?: string;
}

/**
 * A tool call with every field bounded, and the first problem that makes it VALIDATION_FAILED
 * (undefined when it may be dispatched). Never throws: a call that is not a plain object, or
 * whose fields cannot be read, is a problem with empty names.
 */
export function boundToolCall<C extends EnvelopeCall>(call: C): { call: C; problem: string | undefined } {
  const problems: string[] = [];
  try {
    if (typeof call !== 'object' || call === null) throw new TypeError('not an object');
    // Each field read once, from the copy: a getter on the caller's object runs only while copying.
    const out = envelopeCopy(call);
    const expert = boundName(out.expert, 'expert', problems);
    if (expert !== out.expert) out.expert = expert;
    const tool = boundName(out.tool, 'tool', problems);
    if (tool !== out.tool) out.tool = tool;
    const op = boundName(out.op, 'op', problems);
    if (op !== out.op) out.op = op;
    for (const field of VALUE_FIELDS) {
      const value = out[field];
      if (value === undefined) {
        // Only a field present as `undefined` is deleted: deleting an absent one would slow the object down for nothing.
        if (Object.hasOwn(out, field)) delete out[field];
        continue;
      }
      const bounded = boundValue(value, field, problems);
      if (bounded !== value) out[field] = bounded!;
    }
    const rawArgs: unknown = out.args;
    if (typeof rawArgs === 'object' && rawArgs !== null && !Array.isArray(rawArgs)) {
      try {
        const args = { ...(rawArgs as Record<string, unknown>) };
        if (typeof args['method_id'] === 'string') args['method_id'] = clip(args['method_id'], ENVELOPE_LIMITS.method_id);
        if (typeof args['cursor'] === 'string') args['cursor'] = boundValue(args['cursor'], 'cursor', problems);
        if (typeof args['idempotency_key'] === 'string') args['idempotency_key'] = boundValue(args['idempotency_key'], 'idempotency_key', problems);
        out.args = args;
      } catch {
        // A getter that throws, a Proxy trap: the args are refused, the names are kept for the record.
        problems.push('the call args are not plain data');
        out.args = {};
      }
    }
    return { call: out, problem: problems[0] };
  } catch {
    return { call: { expert: '', tool: '', op: '' } as C, problem: 'the tool call is not a plain object' };
  }
}

/**
 * A copy of the call's own fields, each read once. A plain object (the common case: parsed
 * JSON, an object literal) is copied field by field into an object of one fixed shape holding
 * the envelope's fields and no others, which is cheaper than a spread and than deleting
 * absent fields from it; anything else (a Proxy, a class instance) is spread as it is.
 */
function envelopeCopy<C extends EnvelopeCall>(call: C): C {
  if (types.isProxy(call) || Object.getPrototypeOf(call) !== Object.prototype) return { ...call };
  // The prototype is Object.prototype, so these reads see exactly what reading the spread copy would.
  const out: EnvelopeCall = { expert: call.expert, tool: call.tool, op: call.op };
  const { args, tenant, trace_id: traceId, approver } = call;
  if (args !== undefined) out.args = args;
  if (tenant !== undefined) out.tenant = tenant;
  if (traceId !== undefined) out.trace_id = traceId;
  if (approver !== undefined) out.approver = approver;
  return out as C;
}

const VALUE_FIELDS = ['tenant', 'trace_id', 'approver'] as const;

/** The fields of a confirmation that `boundConfirmRequest` reads. */
export interface EnvelopeConfirm {
  token: string;
  approver: string;
  tenant?: string;
  trace_id?: string;
}

/** A confirmation request with its fields bounded, and the first problem, as `boundToolCall`. */
export function boundConfirmRequest<R extends EnvelopeConfirm>(request: R): { request: R; problem: string | undefined } {
  const problems: string[] = [];
  try {
    if (typeof request !== 'object' || request === null) throw new TypeError('not an object');
    const out = { ...request };
    for (const field of ['token', 'approver'] as const) {
      if (request[field] === undefined) problems.push(`\`${field}\` must be a string`);
      out[field] = boundValue(request[field], field, problems) ?? '';
    }
    for (const field of ['tenant', 'trace_id'] as const) {
      const value = boundValue(request[field], field, problems);
      if (value === undefined) delete out[field];
      else out[field] = value;
    }
    return { request: out, problem: problems[0] };
  } catch {
    return { request: { token: '', approver: '' } as R, problem: 'the confirmation is not a plain object' };
  }
}

/** The fields of a decision on a confirmation by its id that `boundDecision` reads. */
export interface EnvelopeDecision {
  id: string;
  approver: string;
  tenant?: string;
  trace_id?: string;
  reason?: string;
}

/** A decision by id (approve or reject) with its fields bounded, and the first problem, as `boundToolCall`. */
export function boundDecision<R extends EnvelopeDecision>(request: R): { request: R; problem: string | undefined } {
  const problems: string[] = [];
  try {
    if (typeof request !== 'object' || request === null) throw new TypeError('not an object');
    const out = { ...request };
    if (request.id === undefined) problems.push('`id` must be a string');
    out.id = boundValue(request.id, 'confirmation_id', problems) ?? '';
    if (request.approver === undefined) problems.push('`approver` must be a string');
    out.approver = boundValue(request.approver, 'approver', problems) ?? '';
    for (const field of ['tenant', 'trace_id', 'reason'] as const) {
      const value = boundValue(request[field], field, problems);
      if (value === undefined) delete out[field];
      else out[field] = value;
    }
    return { request: out, problem: problems[0] };
  } catch {
    return { request: { id: '', approver: '' } as R, problem: 'the decision is not a plain object' };
  }
}

function boundName(value: unknown, field: EnvelopeField, problems: string[]): string {
  if (typeof value !== 'string') {
    problems.push(`\`${field}\` must be a string`);
    return '';
  }
  return clip(value, ENVELOPE_LIMITS[field]);
}

function boundValue(value: unknown, field: EnvelopeField, problems: string[]): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    problems.push(`\`${field}\` must be a string`);
    return `(a ${value === null ? 'null' : typeof value})`;
  }
  const limit = ENVELOPE_LIMITS[field];
  if (value.length <= limit) return value;
  problems.push(`\`${field}\` is ${value.length} characters long; the limit is ${limit}`);
  return clip(value, limit);
}
