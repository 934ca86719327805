/** Legacy (end_of_support): registered, installed by no tool; the build accepts it as long as no tool uses it. */
export class LegacyIntegration {
  constructor(context) {
    this.context = context;
  }
  describeMethods() {
    return [{
      method_id: 'legacy.things.list.v1', provider: 'legacy', description: 'List things the old way.',
      input_schema: { type: 'object', additionalProperties: false, properties: {} }, output_schema: { type: 'object' },
      capabilities: ['read'], auth_scopes: [], rate_limit_hint: null, idempotency: 'safe_read',
      cost_hint: null, deprecated: false, replacement_method_id: null,
    }];
  }
  async authStatus() {
    return { authenticated: false };
  }
  async call() {
    throw new Error('legacy must never be called');
  }
}
