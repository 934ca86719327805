/** The MethodSpec schema is part of the integration contract, which the runtime reads too. */
export { methodSpecSchema } from '../integration/method-spec.ts';
