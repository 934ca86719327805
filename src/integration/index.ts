export * from './types.ts';
export { BaseIntegration, IntegrationFailure, defineMethod } from './base.ts';
export type { HandlerInput, HandlerOutput, MethodHandler } from './base.ts';
