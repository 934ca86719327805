import { z } from 'zod';
import { CAPABILITIES, IDEMPOTENCY } from '../integration/types.ts';
import { nonEmptyString } from './common.ts';

const positiveNumber = z.number().positive();

/** A MethodSpec as returned by describeMethods() (README, Integrations and MethodSpec). Schemas are checked by ajv separately. */
export const methodSpecSchema = z.strictObject({
  method_id: z.string(),
  provider: z.string(),
  description: nonEmptyString,
  input_schema: z.record(z.string(), z.unknown()),
  output_schema: z.record(z.string(), z.unknown()),
  capabilities: z
    .array(z.enum(CAPABILITIES))
    .min(1, 'declare at least one capability')
    .refine((caps) => new Set(caps).size === caps.length, 'lists a capability twice'),
  auth_scopes: z.array(nonEmptyString),
  rate_limit_hint: z.strictObject({ max_calls: positiveNumber.int(), per_seconds: positiveNumber }).nullable(),
  idempotency: z.enum(IDEMPOTENCY),
  cost_hint: z.strictObject({ units: z.number().nonnegative(), unit: nonEmptyString }).nullable(),
  deprecated: z.boolean(),
  replacement_method_id: z.string().nullable(),
});
