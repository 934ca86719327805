import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, providerConfig, readConfig } from '../src/config.ts';
import { tempDir } from './helpers/workspace.ts';

function configIn(value: unknown): string {
  const root = tempDir('botc-oauth-config-');
  writeFileSync(path.join(root, 'botc.config.json'), JSON.stringify(value, null, 2));
  return root;
}

const good = { issuer: 'https://auth.example.com', client_id: 'botc', scopes: ['repo:read'], redirect_port: 8765 };

describe('providers.<provider>.oauth in botc.config.json', () => {
  it('accepts an issuer or endpoints next to flat provider settings, and keeps oauth out of the integration config', () => {
    const root = configIn({ providers: { github: { base_url: 'https://api.github.com', oauth: good } } });
    const config = readConfig(root);
    expect(config.providers?.['github']?.oauth?.client_id).toBe('botc');
    expect(providerConfig(config, {}, ['github'])).toEqual({ github: { base_url: 'https://api.github.com' } });
  });

  it.each([
    ['both an issuer and endpoints', { ...good, token_endpoint: 'https://auth.example.com/token' }, /either `issuer`/],
    ['an authorization endpoint without a token endpoint', { client_id: 'x', redirect_port: 1, authorization_endpoint: 'https://a.example.com/auth' }, /either `issuer`|both `authorization_endpoint` and `token_endpoint`/],
    ['no client id', { issuer: good.issuer, redirect_port: 8765 }, /client_id/],
    ['a scope with a space', { ...good, scopes: ['repo read'] }, /scope is printable ASCII/],
    ['an unknown key (a client secret does not belong in the file)', { ...good, client_secret: 'x' }, /unknown key `client_secret`/],
    ['a redirect port out of range', { ...good, redirect_port: 70_000 }, /redirect_port/],
  ])('refuses %s as config-invalid, located', (_name, oauth, message) => {
    const root = configIn({ providers: { github: { oauth } } });
    let error: unknown;
    try {
      readConfig(root);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const diagnostic = (error as ConfigError).diagnostic;
    expect(diagnostic.code).toBe('config-invalid');
    expect(diagnostic.line).toBeGreaterThan(1);
    expect(`${diagnostic.message} ${(error as ConfigError).message}`).toMatch(message);
  });
});
