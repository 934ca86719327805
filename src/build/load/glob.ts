/** Compiles a block-list glob over tool names (`*`, `?`, `[abc]`, `[!abc]`) to an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') source += '[a-z0-9_]*';
    else if (c === '?') source += '[a-z0-9_]';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 1);
      if (close < 0) {
        source += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, close);
      const negated = body.startsWith('!');
      if (negated) body = body.slice(1);
      source += `[${negated ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

export function isGlob(value: string): boolean {
  return /[*?[]/.test(value);
}

/** Characters a block pattern may use: name characters and glob syntax. */
export const BLOCK_PATTERN = /^[a-z0-9_*?[\]!-]{1,128}$/;
