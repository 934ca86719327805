/**
 * The longest tool or method description a build accepts without a warning: OpenAI's function
 * calling APIs (and the many OpenAI-compatible ones) refuse a function whose description is
 * longer than 1024 characters, so a longer description makes every export to them fail.
 * Anthropic, Gemini and MCP allow more; the warning protects the strictest common target.
 */
export const DESCRIPTION_LIMIT = 1024;

/** A description's length in characters (Unicode code points, so an emoji counts once). */
export function descriptionLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
