export * from './types.ts';
export { BaseIntegration, IntegrationFailure, defineMethod } from './base.ts';
export type { HandlerInput, HandlerOutput, MethodHandler } from './base.ts';
export { DEFAULT_MAX_RESPONSE_BYTES, HttpIntegration, STANDARD_SENSITIVE_HEADERS, parseHttpDate, retryAfterMs } from './http.ts';
export type {
  ConnectionSettings, HttpMethod, HttpReply, HttpRequest, QueryArrayStyle, QueryScalar, QueryValue, RequestPreview,
} from './http.ts';
export { addressRefusal, classifyAddress, hostAllowed, type AddressClass } from './network.ts';
