import type { Io } from './io.ts';

/**
 * `botc confirm`: by public id (`list`, `approve <id>`, `reject <id>`; a bundle file named like
 * that is given as `./list`), or with the secret token on stdin or `--token-file`.
 */
export async function runConfirm(argv: string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (first === 'list' || first === 'approve' || first === 'reject') {
    const { runConfirmById } = await import('./confirm-id.ts');
    return runConfirmById(first, rest, io);
  }
  const { runConfirm: runConfirmWithToken } = await import('./call.ts');
  return runConfirmWithToken(argv, io);
}
