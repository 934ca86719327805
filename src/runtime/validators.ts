import type { ValidateFunction } from 'ajv';
import { createAjv } from '../schema/ajv.ts';

const MAX_REPORTED_ERRORS = 5;

/** Compiles each method schema once and reuses the validator for every call. */
export class Validators {
  private readonly ajv = createAjv();
  private readonly cache = new Map<object, ValidateFunction>();

  get(schema: object): ValidateFunction {
    let validate = this.cache.get(schema);
    if (!validate) {
      validate = this.ajv.compile(schema);
      this.cache.set(schema, validate);
    }
    return validate;
  }

  /** Undefined when valid; otherwise a bounded, readable list of what is wrong. */
  check(schema: object, value: unknown): string | undefined {
    const validate = this.get(schema);
    if (validate(value)) return undefined;
    const errors = (validate.errors ?? []).slice(0, MAX_REPORTED_ERRORS);
    return errors.map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`).join('; ');
  }
}
