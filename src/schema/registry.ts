import { z } from 'zod';
import { ADVANCED_MODES, CLASSIFICATIONS, LIFECYCLES, STANDARD_MODES } from '../integration/types.ts';
import { nameSchema, nonEmptyString } from './common.ts';
import { streamDeclarationSchema, webhookDeclarationSchema } from '../inbound/declarations.ts';

const MODULE_EXTENSION = /\.(ts|mts|js|mjs)$/;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export const registryEntrySchema = z.strictObject({
  provider: nameSchema,
  module: z.string().regex(MODULE_EXTENSION, 'must be a .ts, .mts, .js or .mjs file relative to integrations/'),
  export: z.string().regex(IDENTIFIER, 'must be a JavaScript identifier').optional(),
  description: z.string().optional(),
  classification: z.enum(CLASSIFICATIONS),
  modes: z
    .array(z.enum([...STANDARD_MODES, ...ADVANCED_MODES]))
    .min(1, 'declare at least one mode')
    .refine((modes) => new Set(modes).size === modes.length, 'lists a mode twice'),
  lifecycle: z.enum(LIFECYCLES),
  tier: z.union([z.literal(1), z.literal(2), z.literal(3)]).optional(),
  // Permission types are checked by a rule, not here, so that a wildcard or a
  // partner-defined type is reported as `permission-invalid`.
  permissions: z.array(z.strictObject({ type: z.string(), justification: z.string().optional() })).optional(),
  architecture_approval: z.strictObject({ ref: nonEmptyString, approved_by: nonEmptyString }).optional(),
  // What the `webhook` and `polling_sync` modes need (docs/inbound.md); checked by the build.
  webhook: webhookDeclarationSchema.optional(),
  streams: z.array(streamDeclarationSchema).optional(),
});

/** integrations/manifest.json (README, Integrations and MethodSpec). */
export const registrySchema = z.strictObject({
  $schema: z.string().optional(),
  integrations: z.array(registryEntrySchema),
});

export type RegistryEntry = z.infer<typeof registryEntrySchema>;
