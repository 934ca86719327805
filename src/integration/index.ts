export * from './types.ts';
export { BaseIntegration, IntegrationFailure, defineMethod } from './base.ts';
export type { HandlerInput, HandlerOutput, MethodHandler } from './base.ts';
export { HttpIntegration, retryAfterMs } from './http.ts';
export type { ConnectionSettings, HttpMethod, HttpReply, HttpRequest, QueryValue, RequestPreview } from './http.ts';
