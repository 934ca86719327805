import { z } from 'zod';
import { nameSchema, nonEmptyString } from './common.ts';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

export const toolSchema = z.strictObject({
  name: nameSchema,
  description: nonEmptyString,
  methods: z.array(z.string()).min(1, 'a tool needs at least one method id'),
});

/** bots/<bot>/manifest.json (README, bots/<bot>/manifest.json). */
export const manifestSchema = z.strictObject({
  $schema: z.string().optional(),
  bot: nameSchema,
  version: z.string().regex(SEMVER, 'must be a semantic version such as `1.0.0`'),
  description: nonEmptyString,
  tools: z.array(toolSchema),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestTool = z.infer<typeof toolSchema>;
