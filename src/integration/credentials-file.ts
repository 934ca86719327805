import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { CredentialSource } from './credentials.ts';

const fileSchema = z.record(
  z.string(),
  z.record(z.string(), z.strictObject({ secret: z.string().min(1), scopes: z.array(z.string()).default([]) })),
);

/** A JSON file `{"<tenant>": {"<provider>": {"secret": "...", "scopes": [...]}}}`. */
export function credentialsFromFile(path: string): CredentialSource {
  const parsed = fileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new Error(`credentials file is invalid: ${parsed.error.issues[0]?.message ?? 'bad shape'}`);
  const data = parsed.data;
  return {
    async get(tenant, provider) {
      const entry = Object.hasOwn(data, tenant) && Object.hasOwn(data[tenant]!, provider) ? data[tenant]![provider] : undefined;
      return entry ? { secret: entry.secret, scopes: [...entry.scopes] } : undefined;
    },
  };
}
