const MAX_PARAMS_BYTES = 1024 * 1024;
const MAX_DEPTH = 64;

/**
 * Why params cannot be accepted before schema validation: over 1 MiB of JSON, nested deeper
 * than 64 levels (or cyclic), or holding values JSON cannot carry. A bounded walk, cheaper
 * than serializing, that stops as soon as a limit is crossed.
 */
export function paramsProblem(params: unknown): string | undefined {
  let bytes = 0;
  const stack: [unknown, number][] = [[params, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (depth > MAX_DEPTH) return `params nest deeper than ${MAX_DEPTH} levels (or are cyclic)`;
    switch (typeof value) {
      case 'string':
        bytes += value.length + 2;
        break;
      case 'number':
        if (!Number.isFinite(value)) return 'params hold a number JSON cannot carry';
        bytes += 8;
        break;
      case 'boolean':
        bytes += 5;
        break;
      case 'object':
        if (value === null) {
          bytes += 4;
        } else if (Array.isArray(value)) {
          bytes += value.length + 2;
          for (const item of value) stack.push([item, depth + 1]);
        } else {
          for (const key of Object.keys(value)) {
            bytes += key.length + 4;
            stack.push([(value as Record<string, unknown>)[key], depth + 1]);
          }
        }
        break;
      case 'undefined':
        break;
      default:
        return `params hold a ${typeof value}, which JSON cannot carry`;
    }
    if (bytes > MAX_PARAMS_BYTES) return `params are over the ${MAX_PARAMS_BYTES}-byte cap`;
  }
  return undefined;
}
