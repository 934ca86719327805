import { randomBytes, timingSafeEqual } from 'node:crypto';

/** One signed-in person. */
export interface Session {
  id: string;
  name: string;
  tenant: string;
  /** The token every state-changing form of this session carries. */
  csrf: string;
  expires_at: number;
}

/** Sessions last a working day, then the person signs in again. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

/**
 * Sessions held in the console's memory: a restart signs everyone out, which is the safe
 * direction. Ids and CSRF tokens are 256 random bits.
 */
export class Sessions {
  private readonly byId = new Map<string, Session>();

  constructor(private readonly now: () => number = Date.now) {}

  create(name: string, tenant: string): Session {
    this.sweep();
    const session = { id: randomToken(), name, tenant, csrf: randomToken(), expires_at: this.now() + SESSION_TTL_MS };
    this.byId.set(session.id, session);
    return session;
  }

  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const session = this.byId.get(id);
    if (!session) return undefined;
    if (session.expires_at <= this.now()) {
      this.byId.delete(id);
      return undefined;
    }
    return session;
  }

  end(id: string | undefined): void {
    if (id) this.byId.delete(id);
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.byId) if (s.expires_at <= now) this.byId.delete(id);
  }
}

export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Compares two tokens in time that does not depend on where they differ. */
export function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || a.length === 0) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
