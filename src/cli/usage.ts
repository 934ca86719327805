/**
 * A mistake in how botc was invoked: reported on stderr with exit status 2. `hint` says how
 * to fix it and is printed on its own line.
 */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}
