/** Names of bots, experts, skills, tools and providers (README, Workspace layout). Checked before any path is built. */
export const NAME_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

/** `<provider>.<segment>[.<segment>...].v<N>`, N ≥ 1. */
export const METHOD_ID_PATTERN = /^([a-z][a-z0-9_]*)(?:\.[a-z][a-z0-9_]*)+\.v[1-9][0-9]*$/;

export function isName(value: string): boolean {
  return NAME_PATTERN.test(value);
}

export function nameProblem(value: string): string {
  if (value.length === 0) return 'it is empty';
  if (value.length > 64) return `it is ${value.length} characters long (at most 64)`;
  if (/[/\\]|\.\./.test(value)) return 'it contains a path separator or `..`';
  if (/[^\x20-\x7e]/.test(value)) return 'it contains a non-ASCII or control character';
  if (/[A-Z]/.test(value)) return 'it contains upper-case letters';
  if (!/^[a-z]/.test(value)) return 'it does not start with a lower-case letter';
  return 'it may use only lower-case letters, digits and `_`';
}

/** Why a method id is malformed, or undefined when it is well-formed. */
export function methodIdProblem(id: string): string | undefined {
  if (/[*?[\]{}]/.test(id)) return 'method ids are explicit; patterns are not allowed';
  if (!/\.v[0-9]+$/.test(id)) return 'it does not end with a version segment like `.v1`';
  if (/\.v0+$/.test(id)) return 'versions start at `v1`';
  const segments = id.split('.');
  if (segments.length < 3) return 'it needs at least one segment between the provider and the version';
  const bad = segments.slice(0, -1).find((s) => !/^[a-z][a-z0-9_]*$/.test(s));
  if (bad !== undefined) return `segment \`${bad}\` must match [a-z][a-z0-9_]*`;
  return METHOD_ID_PATTERN.test(id) ? undefined : 'it does not match `<provider>.<segment>….v<N>`';
}

export function providerOf(methodId: string): string {
  const dot = methodId.indexOf('.');
  return dot < 0 ? methodId : methodId.slice(0, dot);
}
