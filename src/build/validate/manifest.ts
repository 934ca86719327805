import type { Diagnostics, Position } from '../../diagnostics/diagnostic.ts';
import type { JsonPath } from '../../load/json.ts';
import { methodIdProblem } from '../../load/names.ts';
import { findInvisible } from '../../load/unicode.ts';
import { clip } from '../../schema/common.ts';
import type { Manifest } from '../../schema/manifest.ts';
import { DESCRIPTION_LIMIT, descriptionLength } from './description-length.ts';

/** A well-formed method id a tool names, with where it is written; resolved against the integrations later. */
export interface MethodRef {
  id: string;
  at: () => Position;
}

/**
 * The checks of one bot's manifest.json that need no other file: the folder name, invisible
 * characters in descriptions, description length, tools installed twice, method ids. Returns
 * the method ids to resolve, once per tool, and whether the manifest is usable by the
 * cross-file rules (no `manifest-invalid` among its problems).
 */
export function checkManifest(
  diagnostics: Diagnostics,
  botId: string,
  file: string,
  manifest: Manifest,
  locate: (path: JsonPath, key?: string) => Position,
): { usable: boolean; methodRefs: MethodRef[] } {
  if (manifest.bot !== botId) {
    diagnostics.add('bot-id-mismatch', { file, at: locate(['bot']) }, { declared: manifest.bot, folder: botId });
  }
  const mark = diagnostics.mark;
  const methodRefs: MethodRef[] = [];
  for (const [where, text] of [[['description'], manifest.description], ...manifest.tools.map((t, i) => [['tools', i, 'description'], t.description] as const)] as const) {
    const invisible = findInvisible(text);
    if (invisible) {
      diagnostics.add('manifest-invalid', { file, at: locate(where) }, { variant: 'invisible', name: invisible.name, codePoint: invisible.codePoint, character: invisible.offset + 1 });
    }
  }
  for (const [index, tool] of manifest.tools.entries()) {
    const length = descriptionLength(tool.description);
    if (length > DESCRIPTION_LIMIT) {
      diagnostics.add('description-too-long', { file, at: locate(['tools', index, 'description']) }, { variant: 'tool', name: tool.name, length, limit: DESCRIPTION_LIMIT });
    }
  }
  const firstIndex = new Map<string, number>();
  for (const [index, tool] of manifest.tools.entries()) {
    const first = firstIndex.get(tool.name);
    if (first !== undefined) {
      diagnostics.add('duplicate-tool', { file, at: locate(['tools', index, 'name']) }, { tool: tool.name, first, again: index });
      continue;
    }
    firstIndex.set(tool.name, index);
    collectToolMethods(diagnostics, file, tool.methods, (i) => locate(['tools', index, 'methods', i]), methodRefs);
  }
  // Structural problems make the manifest unusable for cross-file rules; method warnings do not.
  return { usable: !diagnostics.items.slice(mark).some((d) => d.code === 'manifest-invalid'), methodRefs };
}

/** Reports repeated and malformed method ids of one tool; keeps the rest to resolve later. */
function collectToolMethods(diagnostics: Diagnostics, file: string, methods: string[], at: (index: number) => Position, refs: MethodRef[]): void {
  const seen = new Set<string>();
  for (const [index, id] of methods.entries()) {
    if (seen.has(id)) {
      diagnostics.add('manifest-invalid', { file, at: at(index) }, { variant: 'method-twice', id: clip(id) });
      continue;
    }
    seen.add(id);
    const problem = methodIdProblem(id);
    if (problem) {
      diagnostics.add('method-id-invalid', { file, at: at(index) }, { variant: 'in-tool', id: clip(id), problem });
      continue;
    }
    refs.push({ id, at: () => at(index) });
  }
}
