import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/cli.ts';

/**
 * The public API is exactly what docs/api.md lists: every entry point of package.json
 * `exports`, loaded from the compiled lib/ (`npm run build:lib`), exports these names and no
 * others. A new export (or one that leaks through a re-export) fails here until it is
 * documented and added on purpose.
 */
const VALUES: Record<string, string[]> = {
  '.': ['BUNDLE_FORMAT', 'BuildUsageError', 'DIAGNOSTIC_CODES', 'build', 'bundleDigest', 'check', 'serializeBundle'],
  './runtime': [
    'BUNDLE_FORMAT', 'BundleLoadError', 'ConfigError', 'CredentialUnavailableError', 'CredentialVault', 'CursorKeyError',
    'CursorSealer', 'DEFAULT_STATE_FILE', 'ENVELOPE_LIMITS', 'Runtime', 'TOOL_OPS', 'VaultKeyError', 'bundleSchema', 'chainCredentials',
    'credentialsFromEnv', 'credentialsFromFile', 'cursorKeyFromEnv', 'methodSpecSchema', 'openStore', 'readBundle', 'signBundleDigest',
    'vaultKeyFromEnv', 'verifyBundle', 'verifyBundleSignature',
  ],
  './integration': [
    'ADVANCED_MODES', 'BaseIntegration', 'CAPABILITIES', 'CLASSIFICATIONS', 'DEFAULT_MAX_RESPONSE_BYTES', 'ERROR_CODES',
    'HttpIntegration', 'IDEMPOTENCY', 'IntegrationFailure', 'LIFECYCLES', 'STANDARD_MODES', 'STANDARD_SENSITIVE_HEADERS',
    'addressRefusal', 'classifyAddress', 'defineMethod', 'hostAllowed', 'parseHttpDate', 'retryAfterMs',
  ],
  './adapters': [
    'AdapterError', 'CONFIRMATION_TOKEN_PREFIX', 'IMPORTED_RECORDS_FUNCTION', 'McpBridge', 'aiSdkTools', 'forModel',
    'mcpHttpHandler', 'mcpServer', 'openaiAgentsTools',
  ],
};

/** The type-only exports, on top of the values. */
const TYPES: Record<string, string[]> = {
  '.': [
    'BuildFailure', 'BuildOptions', 'BuildResult', 'BuildSuccess', 'Bundle', 'BundleBlock', 'BundleExpert', 'BundleIntegration',
    'BundleSummary', 'BundleTool', 'Diagnostic', 'DiagnosticCode', 'Severity',
  ],
  './runtime': [
    'AuditEntry', 'AuditFilter', 'Bundle', 'ConfirmByIdRequest', 'CursorBinding', 'ConfirmRequest', 'Credential', 'CredentialSource', 'ErrorCode',
    'IntegrationResult', 'RejectRequest', 'ReviewItem', 'RuntimeOptions', 'StateStore', 'ToolCall', 'ToolOp',
  ],
  './integration': [
    'AddressClass', 'AuthStatus', 'CallContext', 'Capability', 'Classification', 'ConnectionSettings', 'ErrorCode',
    'HandlerInput', 'HandlerOutput', 'HttpMethod', 'HttpReply', 'HttpRequest', 'Idempotency', 'Integration', 'IntegrationCall',
    'IntegrationConstructor', 'IntegrationContext', 'IntegrationError', 'IntegrationResult', 'JsonSchema', 'Lifecycle',
    'MethodHandler', 'MethodSpec', 'Mode', 'Provenance', 'QueryArrayStyle', 'QueryScalar', 'QueryValue', 'RequestPreview',
    'ResultMeta', 'RetryPolicy',
  ],
  './adapters': ['AdapterOptions', 'McpAdapterOptions', 'McpHttpOptions'],
};

/** Internals that must not be reachable from any entry point. */
const INTERNAL = ['auditHash', 'MemoryStore', 'AuditRow', 'StoredCredential', 'StoredConfirmation', 'IdempotencyRecord', 'IdempotencyState', 'instantiateIntegration', 'providerConfig', 'readConfig'];

const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }> };

/**
 * Every name a declaration file exports, types included. The entry points re-export by name
 * only, so the names are read from the file's syntax; an `export *` (which would hide what is
 * exported) is reported as the name `*`.
 */
function declaredExports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false);
  const names: string[] = [];
  for (const statement of source.statements) {
    if (ts.isExportDeclaration(statement)) {
      if (!statement.exportClause || !ts.isNamedExports(statement.exportClause)) names.push('*');
      else for (const element of statement.exportClause.elements) names.push(element.name.text);
    } else if (ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
      names.push(ts.getNameOfDeclaration(statement as ts.DeclarationStatement)?.getText(source) ?? '(anonymous)');
    }
  }
  return names.sort();
}

describe('the public API', () => {
  beforeAll(() => {
    if (!existsSync(path.join(REPO_ROOT, 'lib/index.js'))) throw new Error('lib/ is missing: run `npm run build:lib` first');
  });

  it('package.json exports exactly the four entry points, each from lib/', () => {
    expect(Object.keys(pkg.exports).sort()).toEqual(Object.keys(VALUES).sort());
    for (const entry of Object.values(pkg.exports)) {
      expect(entry.default).toMatch(/^\.\/lib\/.*index\.js$/);
      expect(entry.types).toBe(entry.default.replace(/\.js$/, '.d.ts'));
    }
  });

  it.each(Object.keys(VALUES))('entry point %s exports exactly the listed values', async (entry) => {
    const module = (await import(path.join(REPO_ROOT, pkg.exports[entry]!.default))) as Record<string, unknown>;
    expect(Object.keys(module).sort()).toEqual([...VALUES[entry]!].sort());
  });

  it('each entry point declares exactly the listed values and types, by name (no `export *`)', () => {
    for (const [entry, target] of Object.entries(pkg.exports)) {
      const names = declaredExports(path.join(REPO_ROOT, target.types));
      expect({ entry, names }).toEqual({ entry, names: [...VALUES[entry]!, ...TYPES[entry]!].sort() });
    }
  });

  it('no entry point exports auditHash, MemoryStore or the stores\' row types', async () => {
    for (const entry of Object.keys(VALUES)) {
      const module = (await import(path.join(REPO_ROOT, pkg.exports[entry]!.default))) as Record<string, unknown>;
      for (const name of INTERNAL) expect({ entry, name, exported: name in module }).toEqual({ entry, name, exported: false });
      for (const name of INTERNAL) expect({ entry, name, listed: TYPES[entry]!.includes(name) }).toEqual({ entry, name, listed: false });
    }
  });

  it('botc/integration loads no schema library, so integration modules load fast in the sandbox', () => {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const [, specifier] of readFileSync(file, 'utf8').matchAll(/^(?:import|export)\b[^;]*?from\s+['"]([^'"]+)['"]/gm)) {
        if (specifier!.startsWith('.')) visit(path.resolve(path.dirname(file), specifier!));
        else packages.add(specifier!);
      }
    };
    visit(path.join(REPO_ROOT, pkg.exports['./integration']!.default));
    expect([...packages].filter((name) => !name.startsWith('node:')).sort()).toEqual(['http-link-header']);
  });

  it('docs/api.md names every export of every entry point', () => {
    const doc = readFileSync(path.join(REPO_ROOT, 'docs/api.md'), 'utf8');
    for (const [entry, names] of Object.entries(VALUES)) {
      const section = doc.split(/^## /m).find((part) => part.startsWith(`\`botc${entry === '.' ? '' : entry.slice(1)}\``));
      expect(section, `docs/api.md has a section for botc${entry.slice(1)}`).toBeDefined();
      for (const name of [...names, ...TYPES[entry]!]) expect({ entry, name, documented: section!.includes(`\`${name}\``) }).toEqual({ entry, name, documented: true });
    }
  });
});
