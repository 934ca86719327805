import { z } from 'zod';
import { CAPABILITIES, IDEMPOTENCY } from './vocabulary.ts';

/**
 * A JSON Schema 2020-12 schema as a MethodSpec carries it: a JSON object. The build checks
 * that the top level is `type: "object"` and that the schema compiles (ajv, draft 2020-12);
 * the shape here is only "an object with string keys".
 */
export type JsonSchema = Record<string, unknown>;

const nonEmptyString = z.string().refine((s) => s.trim().length > 0, 'must not be empty');
const positiveNumber = z.number().positive();

/**
 * The MethodSpec contract as a zod schema: what describeMethods() must return for each
 * method (README, MethodSpec), checked by the build on every declared method and by the
 * runtime on every method a bundle records. The `MethodSpec` type is inferred from it, so
 * the type and the check cannot drift apart. Unknown keys are refused (a strict object).
 */
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

/**
 * One method of an integration (README, MethodSpec): its id (`<provider>.<name…>.v<N>`), the
 * JSON Schemas of its params and result, what it does (`capabilities`, `idempotency`), the
 * OAuth scopes it needs, and hints for callers (calls per `per_seconds` seconds; cost units).
 * Inferred from `methodSpecSchema`.
 */
export type MethodSpec = z.infer<typeof methodSpecSchema>;
