import { z } from 'zod';
import { nonEmptyString, stringListSchema } from './common.ts';

/** Front matter of bots/<bot>/prompts/expert_<name>.md (README, Expert files). */
export const expertFrontMatterSchema = z.strictObject({
  fexp_description: z.string().pipe(nonEmptyString),
  fexp_allow_tools: stringListSchema.optional(),
  fexp_block_tools: stringListSchema.optional(),
  fexp_skills: stringListSchema.optional(),
});

/** Front matter of personality, skill and tool prompts. */
export const blockFrontMatterSchema = z.strictObject({
  description: z.string().optional(),
});

/** Front matter of global common blocks, prompts/*.md (README, Prompt assembly). */
export const commonFrontMatterSchema = z.strictObject({
  description: z.string().optional(),
  when_tools_any: stringListSchema.optional(),
});

export type ExpertFrontMatter = z.infer<typeof expertFrontMatterSchema>;
