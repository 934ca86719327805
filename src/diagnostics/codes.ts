/**
 * The registry of build diagnostic codes (SPEC §6). Codes are permanent: never rename
 * one, never reuse one for another meaning. Each has a default severity and a summary
 * used by documentation and the CLI.
 */
export const DIAGNOSTIC_CODES = {
  'json-syntax': { severity: 'error', summary: 'a JSON file does not parse' },
  'manifest-invalid': { severity: 'error', summary: 'a bot manifest breaks the manifest format' },
  'bot-id-mismatch': { severity: 'error', summary: '`bot` differs from the folder name' },
  'duplicate-tool': { severity: 'error', summary: 'a bot installs two tools of one name' },
  'unknown-method': { severity: 'error', summary: 'a tool names a method id that no integration declares' },
  'frontmatter-invalid': { severity: 'error', summary: 'front matter breaks the expert or prompt format' },
  'expert-missing': { severity: 'error', summary: 'a bot has no expert file' },
  'allow-wildcard': { severity: 'error', summary: '`fexp_allow_tools` holds a wildcard' },
  'allow-unknown-tool': { severity: 'error', summary: 'an allowed tool is not installed by the bot' },
  'allow-block-conflict': { severity: 'error', summary: "an allowed tool matches the same expert's block list" },
  'tool-prompt-missing': { severity: 'error', summary: 'an allowed tool has no tool prompt' },
  'tool-prompt-orphan': { severity: 'error', summary: 'a tool prompt exists for a tool the bot does not install' },
  'tool-unreachable': { severity: 'error', summary: 'the bot installs a tool that no expert allows' },
  'skill-missing': { severity: 'error', summary: '`fexp_skills` names a skill with no skill file' },
  'template-error': { severity: 'error', summary: 'a prompt block does not compile or references an unknown name' },
  'unsafe-path': { severity: 'error', summary: 'a path is a symlink, special file, or resolves outside the workspace' },
  'integration-registry-invalid': { severity: 'error', summary: 'integrations/manifest.json breaks the registry format' },
  'integration-unregistered': { severity: 'error', summary: 'a folder under integrations/ is not in the registry' },
  'integration-module-missing': { severity: 'error', summary: 'a registered module does not exist or fails to load' },
  'integration-export-missing': { severity: 'error', summary: 'a module lacks the named export or it is not a valid integration' },
  'method-id-invalid': { severity: 'error', summary: 'a method id is malformed or has the wrong provider prefix' },
  'method-duplicate': { severity: 'error', summary: 'two methods share one id' },
  'method-spec-invalid': { severity: 'error', summary: 'a MethodSpec breaks the integration contract' },
  'method-schema-invalid': { severity: 'error', summary: 'an input or output schema is not a valid, safe JSON Schema' },
  'method-schema-lint': { severity: 'warning', summary: 'a valid schema construct that is likely a mistake' },
  'method-deprecated': { severity: 'warning', summary: 'a tool uses a deprecated method' },
  'replacement-unknown': { severity: 'error', summary: '`replacement_method_id` names no declared method' },
  'classification-violation': { severity: 'error', summary: "a method's capabilities break its integration's classification" },
  'mode-not-approved': { severity: 'error', summary: 'an advanced mode lacks `architecture_approval`' },
  'permission-invalid': { severity: 'error', summary: 'partner permissions are wildcard, unjustified, or beyond the tier' },
  'permission-missing': { severity: 'error', summary: 'a method needs a permission its integration does not declare' },
  'lifecycle-deprecated': { severity: 'warning', summary: 'a tool uses an integration in `deprecated`' },
  'lifecycle-end-of-support': { severity: 'error', summary: 'a tool uses an integration in `end_of_support`' },
  'config-invalid': { severity: 'error', summary: 'botc.config.json does not parse or breaks its format' },
  'method-redefined': { severity: 'error', summary: "a locked method id's schemas changed incompatibly" },
  'lock-outdated': { severity: 'warning', summary: 'a locked method changed compatibly and `botc lock` was not run' },
  'file-encoding': { severity: 'error', summary: 'a text input is not UTF-8 (UTF-16, Windows-1252, NUL bytes); names the line, column and byte' },
  'prompt-file-misnamed': { severity: 'warning', summary: 'a file in a prompts folder looks like a prompt but does not follow the layout; the hint names the expected file name' },
  'mode-unsupported': { severity: 'error', summary: 'an integration declares a mode without what the mode needs (webhook events, sync streams)' },
  'block-unknown-tool': { severity: 'warning', summary: 'a literal (non-glob) `fexp_block_tools` name matches no tool of the bot' },
} as const satisfies Record<string, { severity: 'error' | 'warning'; summary: string }>;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;
