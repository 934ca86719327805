/** What replaces a secret, in any encoding, in anything a result carries. */
export const REDACTED = '[redacted]';

/** Secrets shorter than this are not scrubbed: replacing two letters everywhere would wreck data and hide nothing. */
const MIN_SECRET_LENGTH = 4;
/** An encoded fragment shorter than this is not scrubbed on its own: too likely to occur by chance. */
const MIN_FRAGMENT_LENGTH = 6;

/**
 * The forms in which a provider may echo a credential back, beyond the secret itself:
 * - base64 (RFC 4648 §4) and base64url (§5), at each of the three byte alignments, so that
 *   the secret is found inside a longer encoded text such as HTTP Basic `user:secret`
 *   (RFC 7617) or `secret:`; the characters a neighbouring byte shares are left (at most two
 *   bits of the secret each side);
 * - hex, lower and upper case;
 * - percent-encoding (RFC 3986) with upper- and lower-case digits, and form encoding
 *   (`application/x-www-form-urlencoded`, where a space is `+`).
 * Longest first, so a longer form is replaced before a shorter one inside it.
 */
export function secretForms(secret: string): string[] {
  if (secret.length < MIN_SECRET_LENGTH) return [];
  const bytes = Buffer.from(secret, 'utf8');
  const forms = new Set<string>([secret, bytes.toString('hex'), bytes.toString('hex').toUpperCase()]);
  for (let offset = 0; offset < 3; offset++) {
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
    const encoded = padded.toString('base64');
    // Characters that depend only on the secret's bits: skip those mixed with the leading pad,
    // keep whole 4-character groups only (the last partial group depends on what follows).
    const start = offset === 0 ? 0 : offset === 1 ? 2 : 3;
    const end = Math.floor(padded.length / 3) * 4;
    const core = encoded.slice(start, end);
    if (core.length >= MIN_FRAGMENT_LENGTH) {
      forms.add(core);
      forms.add(core.replaceAll('+', '-').replaceAll('/', '_'));
    }
    // Unpadded and padded encodings of the secret alone, whole.
    if (offset === 0) {
      forms.add(encoded);
      forms.add(bytes.toString('base64url'));
    }
  }
  const percent = encodeURIComponent(secret);
  forms.add(percent);
  forms.add(percent.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()));
  forms.add(percent.replaceAll('%20', '+'));
  return [...forms].filter((form) => form.length >= Math.min(MIN_FRAGMENT_LENGTH, secret.length)).sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
}

/**
 * A function that replaces the secret and its common encodings (see `secretForms`) in a
 * string with `[redacted]`, in one linear pass; the identity when there is no secret.
 */
export function secretScrubber(secret: string | undefined): (text: string) => string {
  if (secret === undefined) return identity;
  let scrubber = recent.get(secret);
  if (!scrubber) {
    scrubber = makeScrubber(secretForms(secret));
    // A small cache: the forms of one tenant's secret are computed once per burst of calls.
    if (recent.size >= CACHE_SIZE) recent.delete(recent.keys().next().value!);
    recent.set(secret, scrubber);
  }
  return scrubber;
}

const CACHE_SIZE = 64;
const recent = new Map<string, (text: string) => string>();

function makeScrubber(forms: string[]): (text: string) => string {
  if (forms.length === 0) return identity;
  const shortest = forms[forms.length - 1]!.length;
  const pattern = new RegExp(forms.map(escapeRegExp).join('|'), 'g');
  return (text) => (text.length < shortest ? text : text.replace(pattern, REDACTED));
}

function identity(text: string): string {
  return text;
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}
