const MAX_PARAMS_BYTES = 1024 * 1024;
const MAX_DEPTH = 64;

/**
 * Why params cannot be accepted before schema validation: over 1 MiB of JSON, nested deeper
 * than 64 levels (or cyclic), or holding values JSON cannot carry. A bounded walk, cheaper
 * than serializing, that stops as soon as a limit is crossed.
 */
export function paramsProblem(params: unknown): string | undefined {
  const budget = { bytes: 0 };
  return walk(params, 0, budget);
}

function walk(value: unknown, depth: number, budget: { bytes: number }): string | undefined {
  if (depth > MAX_DEPTH) return `params nest deeper than ${MAX_DEPTH} levels (or are cyclic)`;
  switch (typeof value) {
    case 'string':
      budget.bytes += value.length + 2;
      break;
    case 'number':
      if (!Number.isFinite(value)) return 'params hold a number JSON cannot carry';
      budget.bytes += 8;
      break;
    case 'boolean':
      budget.bytes += 5;
      break;
    case 'undefined':
      break;
    case 'object':
      if (value === null) {
        budget.bytes += 4;
      } else if (Array.isArray(value)) {
        budget.bytes += value.length + 2;
        for (const item of value) {
          const problem = walk(item, depth + 1, budget);
          if (problem) return problem;
        }
      } else {
        for (const key in value) {
          if (!Object.hasOwn(value, key)) continue;
          budget.bytes += key.length + 4;
          const problem = walk((value as Record<string, unknown>)[key], depth + 1, budget);
          if (problem) return problem;
        }
      }
      break;
    default:
      return `params hold a ${typeof value}, which JSON cannot carry`;
  }
  return budget.bytes > MAX_PARAMS_BYTES ? `params are over the ${MAX_PARAMS_BYTES}-byte cap` : undefined;
}
