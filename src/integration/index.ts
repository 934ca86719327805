/**
 * `botc/integration`: everything an integration module imports (docs/api.md lists every
 * export). Integration code imports this entry point only (checked by `npm run lint:deps`).
 * It loads no schema library (the MethodSpec zod schema is exported by `botc/runtime`), so the
 * modules that import it load fast in the build's sandbox.
 */
export {
  ADVANCED_MODES, CAPABILITIES, CLASSIFICATIONS, ERROR_CODES, IDEMPOTENCY, LIFECYCLES, STANDARD_MODES,
} from './types.ts';
export type {
  AuthStatus, CallContext, Capability, Classification, ErrorCode, Idempotency, Integration, IntegrationCall,
  IntegrationConstructor, IntegrationContext, IntegrationError, IntegrationResult, JsonSchema, Lifecycle, MethodSpec, Mode,
  Provenance, ResultMeta, RetryPolicy,
} from './types.ts';
export { BaseIntegration, IntegrationFailure, defineMethod } from './base.ts';
export type { HandlerInput, HandlerOutput, MethodHandler } from './base.ts';
export { DEFAULT_MAX_RESPONSE_BYTES, HttpIntegration, STANDARD_SENSITIVE_HEADERS, parseHttpDate, retryAfterMs } from './http.ts';
export type {
  ConnectionSettings, HttpMethod, HttpReply, HttpRequest, QueryArrayStyle, QueryScalar, QueryValue, RequestPreview,
} from './http.ts';
export { addressRefusal, classifyAddress, hostAllowed, type AddressClass } from './network.ts';
