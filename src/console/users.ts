import { hash, verify } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Where the console's people live inside a workspace, beside the embedded state store. */
export const DEFAULT_USERS_FILE = '.botc/console-users.json';

/** A person who may sign in to the console, for one tenant. The secret is kept only as its hash. */
export interface ConsoleUser {
  name: string;
  tenant: string;
  /** An Argon2id hash in the PHC string format (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`). */
  password_hash: string;
  created_at: string;
}

/** What `users list` shows: never the hash. */
export type ConsoleUserSummary = Omit<ConsoleUser, 'password_hash'>;

/** A bad name, tenant or secret given to `users add`. */
export class ConsoleUserError extends Error {
  override name = 'UsageError';
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** Shorter secrets are guessed; longer ones only cost hashing time. */
const MIN_SECRET = 12;
const MAX_SECRET = 1024;

/**
 * A hash computed once so that signing in with an unknown name costs the same time as with a
 * known one: the response time does not tell which names exist.
 */
let decoy: Promise<string> | undefined;

/**
 * The console's people in one JSON file (mode 0600), each with an Argon2id hash
 * (RFC 9106; `@node-rs/argon2` defaults: 19 MiB, 2 passes, 1 lane, the OWASP minimum).
 * Names are unique per tenant: `alice` of `acme` and `alice` of `globex` are two people.
 */
export class ConsoleUsers {
  constructor(readonly file: string) {}

  /** Opens the file of a workspace (`<root>/.botc/console-users.json`). */
  static forRoot(root: string): ConsoleUsers {
    return new ConsoleUsers(path.join(root, DEFAULT_USERS_FILE));
  }

  list(tenant?: string): ConsoleUserSummary[] {
    return this.read()
      .filter((u) => tenant === undefined || u.tenant === tenant)
      .map(({ password_hash: _hidden, ...rest }) => rest)
      .sort((a, b) => a.tenant.localeCompare(b.tenant) || a.name.localeCompare(b.name));
  }

  /** Adds a person or replaces their secret. Throws ConsoleUserError on a bad name or a short secret. */
  async add(name: string, tenant: string, secret: string, now = new Date()): Promise<void> {
    checkName(name, 'the name');
    checkName(tenant, 'the tenant');
    if ([...secret].length < MIN_SECRET) throw new ConsoleUserError(`the secret must be at least ${MIN_SECRET} characters`);
    if (secret.length > MAX_SECRET) throw new ConsoleUserError(`the secret must be at most ${MAX_SECRET} characters`);
    const password_hash = await hash(secret);
    const users = this.read().filter((u) => !(u.name === name && u.tenant === tenant));
    users.push({ name, tenant, password_hash, created_at: now.toISOString() });
    this.write(users);
  }

  /** Removes a person; false when there was none. Their open sessions end at their next request. */
  remove(name: string, tenant: string): boolean {
    const users = this.read();
    const kept = users.filter((u) => !(u.name === name && u.tenant === tenant));
    if (kept.length === users.length) return false;
    this.write(kept);
    return true;
  }

  /** Whether the person exists now (sessions are checked against this on every request). */
  exists(name: string, tenant: string): boolean {
    return this.read().some((u) => u.name === name && u.tenant === tenant);
  }

  /** Checks a sign-in; the same work is done whether or not the person exists. */
  async verify(name: string, tenant: string, secret: string): Promise<boolean> {
    const user = this.read().find((u) => u.name === name && u.tenant === tenant);
    if (secret.length > MAX_SECRET) return false;
    if (!user) {
      decoy ??= hash(randomBytes(16).toString('hex'));
      await verify(await decoy, secret).catch(() => false);
      return false;
    }
    return verify(user.password_hash, secret).catch(() => false);
  }

  private read(): ConsoleUser[] {
    if (!existsSync(this.file)) return [];
    const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as { users?: ConsoleUser[] };
    return Array.isArray(parsed.users) ? parsed.users : [];
  }

  private write(users: ConsoleUser[]): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify({ users }, null, 2)}\n`, { mode: 0o600 });
    chmodSync(temp, 0o600);
    renameSync(temp, this.file);
  }
}

function checkName(value: string, what: string): void {
  if (!NAME.test(value)) throw new ConsoleUserError(`${what} \`${value.slice(0, 64)}\` must be 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit`);
}
