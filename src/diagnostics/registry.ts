// Over 300 lines: one table that owns the text of every diagnostic code; splitting it would scatter the wording again.
import { listNames } from './hints.ts';

/**
 * The registry of build diagnostics (README, Diagnostics): every code with its severity, a
 * title, and the builders of its message and hint. Call sites pass parameters only; the words
 * live here, once per code, so a message can be reviewed and changed in one place.
 *
 * Rules of the table:
 * - Codes are permanent: never rename one, never reuse one for another meaning.
 * - A message never contains a location (`file:line`): the diagnostic carries it in `file`,
 *   `line`, `column`, and a second place in `related` (test: compiler-registry.test.ts).
 * - A code with several situations has one variant per situation, picked by `variant`.
 * - Parameters that quote workspace text are clipped and made printable by the caller
 *   (`clip` in src/schema/common.ts); numbers and fixed names are passed as they are.
 * - `detail` parameters carry a parser's or validator's own explanation (YAML, JSON, zod,
 *   Handlebars, esbuild); the registry frames it.
 */

/** Whether a diagnostic fails the build (`error`) or is reported only (`warning`). */
export type Severity = 'error' | 'warning';

/** How one situation of a code is worded. */
interface Wording<P> {
  message: (params: P) => string;
  hint: (params: P) => string | undefined;
}

/** A registry entry as call sites see it: the parameters `P` give the message and the hint. */
export interface DiagnosticDefinition<P> {
  severity: Severity;
  /** One line: when the code is reported (README, Diagnostics). */
  title: string;
  /** Which build stage reports it; `cross-file` codes are the rules of src/build/rules/. */
  stage: 'load' | 'validate' | 'cross-file' | 'resolve' | 'config';
  message: (params: P) => string;
  hint: (params: P) => string | undefined;
}

type Variants<V> = { [K in keyof V]: Wording<V[K]> };
type VariantParams<V> = { [K in keyof V]: { variant: K } & V[K] }[keyof V];

function one<P>(severity: Severity, stage: DiagnosticDefinition<P>['stage'], title: string, wording: Wording<P>): DiagnosticDefinition<P> {
  return { severity, stage, title, ...wording };
}

function many<V>(severity: Severity, stage: DiagnosticDefinition<unknown>['stage'], title: string, variants: Variants<V>): DiagnosticDefinition<VariantParams<V>> {
  const pick = (params: VariantParams<V>) => variants[params.variant] as Wording<unknown>;
  return { severity, stage, title, message: (p) => pick(p).message(p), hint: (p) => pick(p).hint(p) };
}

/** A parser's or validator's own explanation, with the hint that goes with it. */
interface Detail {
  detail: string;
  hint?: string | undefined;
}
const detail: Wording<Detail> = { message: (p) => p.detail, hint: (p) => p.hint };

/** A file that cannot be read: what the reader said, and what to do about it. */
interface ReadFailure {
  failure: string;
  hint: string;
}

/** Plural helpers: "expert `a`" / "experts `a` and `b`". */
const experts = (names: readonly string[]) => `${names.length === 1 ? 'expert' : 'experts'} ${listNames(names)}`;

export const DIAGNOSTICS = {
  'json-syntax': many('error', 'load', 'a JSON file does not parse', {
    parse: { message: (p: { detail: string }) => p.detail, hint: () => 'fix the JSON syntax' },
    lock: detail,
    automation: { message: (p: { file: string; detail: string }) => `${p.file} is not valid JSON: ${p.detail}`, hint: () => 'fix the JSON syntax at this place' },
  }),
  'manifest-invalid': many('error', 'load', 'a bot manifest breaks the manifest format', {
    issue: detail,
    'folder-name': {
      message: (p: { id: string; problem: string }) => `bot folder name \`${p.id}\` is not a valid bot id: ${p.problem}`,
      hint: () => 'rename the folder to match ^[a-z][a-z0-9_]{0,63}$',
    },
    missing: { message: (p: { bot: string; file: string }) => `bot \`${p.bot}\` has no manifest.json`, hint: (p) => `create ${p.file} with \`bot\`, \`version\`, \`description\` and \`tools\`` },
    unreadable: { message: (p: { failure: string }) => `the manifest cannot be read: ${p.failure}`, hint: () => 'make it a regular JSON file under 1 MiB' },
    invisible: {
      message: (p: { name: string; codePoint: string; character: number }) => `the description contains ${p.name} (${p.codePoint}) at character ${p.character}`,
      hint: () => 'remove it: invisible characters can hide instructions from reviewers',
    },
    'method-twice': { message: (p: { id: string }) => `the tool lists \`${p.id}\` twice`, hint: () => 'remove the repeated method id' },
  }),
  'bot-id-mismatch': one('error', 'load', '`bot` differs from the folder name', {
    message: (p: { declared: string; folder: string }) => `\`bot\` is \`${p.declared}\` but the folder is \`${p.folder}\``,
    hint: (p) => `set \`"bot": "${p.folder}"\` or rename the folder`,
  }),
  'duplicate-tool': one('error', 'load', 'a bot installs two tools of one name', {
    message: (p: { tool: string; first: number; again: number }) => `tool \`${p.tool}\` is installed twice (tools[${p.first}] and tools[${p.again}])`,
    hint: () => 'merge the two entries into one tool, or rename one',
  }),
  'unknown-method': many('error', 'cross-file', 'a tool names a method id that no integration declares', {
    'not-declared': { message: (p: { provider: string; id: string; suggestion: string }) => `provider \`${p.provider}\` declares no method \`${p.id}\``, hint: (p) => p.suggestion },
    'not-registered': {
      message: (p: { provider: string; id: string; suggestion: string }) => `no integration declares \`${p.id}\`: provider \`${p.provider}\` is not registered`,
      hint: (p) => p.suggestion,
    },
  }),
  'frontmatter-invalid': many('error', 'load', 'front matter breaks the expert or prompt format', {
    issue: detail,
    unreadable: { message: (p: ReadFailure) => `the prompt cannot be read: ${p.failure}`, hint: (p) => p.hint },
    invisible: { message: (p: { name: string; codePoint: string }) => `the file contains ${p.name} (${p.codePoint})`, hint: () => 'remove it: invisible characters can hide instructions from reviewers' },
    'block-pattern': { message: (p: { pattern: string }) => `\`${p.pattern}\` is not a tool name or glob`, hint: () => 'block patterns use lower-case name characters and `*`, `?`, `[...]`' },
    'bad-name': { message: (p: { key: string; name: string; problem: string }) => `\`${p.key}\`: \`${p.name}\` is not a valid name: ${p.problem}`, hint: () => 'names match ^[a-z][a-z0-9_]{0,63}$' },
    'listed-twice': { message: (p: { key: string; name: string }) => `\`${p.key}\` lists \`${p.name}\` twice`, hint: () => 'remove the repeated entry' },
    'when-tools-name': {
      message: (p: { tool: string; problem: string }) => `\`when_tools_any\`: \`${p.tool}\` is not a valid tool name: ${p.problem}`,
      hint: () => 'list exact tool names',
    },
    'when-tools-unknown': {
      message: (p: { tool: string; suggestion: string }) => `\`when_tools_any\` names \`${p.tool}\`, which no bot installs, so the block would never be included for it`,
      hint: (p) => p.suggestion,
    },
  }),
  'expert-missing': many('error', 'load', 'a bot has no expert file', {
    none: { message: (p: { bot: string; folder: string }) => `bot \`${p.bot}\` has no expert`, hint: (p) => `create ${p.folder}/prompts/expert_<name>.md with \`fexp_description\` front matter` },
    misnamed: {
      message: (p: { bot: string; files: readonly { file: string; expected: string }[] }) =>
        `bot \`${p.bot}\` has no expert (${listNames(p.files.map((f) => f.file))} ${p.files.length === 1 ? 'is' : 'are'} not named \`expert_<name>.md\`)`,
      hint: (p) => p.files.map((f) => `rename ${f.file} to ${f.expected}`).join('; '),
    },
  }),
  'allow-wildcard': one('error', 'load', '`fexp_allow_tools` holds a wildcard', {
    message: (p: { tool: string }) => `\`fexp_allow_tools\` holds the wildcard \`${p.tool}\``,
    hint: () => 'list each tool by its exact name; use `fexp_block_tools` for patterns',
  }),
  'allow-unknown-tool': one('error', 'cross-file', 'an allowed tool is not installed by the bot', {
    message: (p: { expert: string; tool: string; bot: string; suggestion: string }) => `expert \`${p.expert}\` allows \`${p.tool}\`, which bot \`${p.bot}\` does not install`,
    hint: (p) => p.suggestion,
  }),
  'allow-block-conflict': one('error', 'cross-file', "an allowed tool matches the same expert's block list", {
    message: (p: { tool: string; pattern: string }) => `\`${p.tool}\` is both allowed and blocked by \`${p.pattern}\``,
    hint: (p) => `remove \`${p.tool}\` from \`fexp_allow_tools\`, or narrow the block pattern`,
  }),
  'tool-prompt-missing': one('error', 'cross-file', 'an allowed tool has no tool prompt', {
    message: (p: { tool: string; experts: readonly string[]; misnamed: string | undefined; create: string }) =>
      `allowed tool \`${p.tool}\` has no tool prompt (allowed by ${experts(p.experts)})${p.misnamed ? `; ${p.misnamed} is not named \`tool_${p.tool}.md\`` : ''}`,
    hint: (p) => (p.misnamed ? `rename ${p.misnamed} to tool_${p.tool}.md` : `create ${p.create} describing when and how to use the tool`),
  }),
  'tool-prompt-orphan': one('error', 'cross-file', 'a tool prompt exists for a tool the bot does not install', {
    message: (p: { tool: string; bot: string; manifest: string; suggestion: string | undefined }) => `tool prompt for \`${p.tool}\`, which bot \`${p.bot}\` does not install`,
    hint: (p) => p.suggestion ?? `install \`${p.tool}\` in ${p.manifest}, or delete the file`,
  }),
  'tool-unreachable': many('error', 'cross-file', 'the bot installs a tool that no expert allows', {
    unallowed: { message: (p: { tool: string }) => `tool \`${p.tool}\` is installed but no expert allows it`, hint: (p) => `add \`${p.tool}\` to an expert's \`fexp_allow_tools\`, or uninstall it` },
    'renamed-in-manifest': {
      message: (p: { tool: string; meant: string; allowedBy: readonly string[]; promptExists: boolean }) =>
        `tool \`${p.tool}\` is installed but no expert allows it; ${[
          ...(p.allowedBy.length > 0 ? [`${experts(p.allowedBy)} allow \`${p.meant}\``] : []),
          ...(p.promptExists ? [`prompts/tool_${p.meant}.md exists`] : []),
        ].join(' and ')}`,
      hint: (p) => `did you mean \`${p.meant}\`? rename the tool to \`${p.meant}\` in manifest.json`,
    },
  }),
  'skill-missing': one('error', 'cross-file', '`fexp_skills` names a skill with no skill file', {
    message: (p: { skill: string; misnamed: string | undefined; suggestion: string }) =>
      `skill \`${p.skill}\` has no file${p.misnamed ? ` (${p.misnamed} is not named \`skill_${p.skill}.md\`)` : ''}`,
    hint: (p) => (p.misnamed ? `rename ${p.misnamed} to skill_${p.skill}.md` : p.suggestion),
  }),
  'template-error': many('error', 'load', 'a prompt block does not compile or references an unknown name', {
    problem: detail,
    invisible: { message: (p: { name: string; codePoint: string }) => `the file contains ${p.name} (${p.codePoint})`, hint: () => 'remove it: invisible characters can hide instructions from reviewers' },
    render: {
      message: (p: { expert: string; detail: string }) => `rendering for expert \`${p.expert}\` failed: ${p.detail}`,
      hint: () => 'simplify the template to names, `if`, `unless` and `each`',
    },
  }),
  'unsafe-path': many('error', 'load', 'a path is a symlink, special file, or resolves outside the workspace', {
    root: { message: (p: { path: string; problem: string }) => `\`${p.path}\` is ${p.problem}`, hint: (p) => `make ${p.path}/ a real folder inside the workspace` },
    output: {
      message: (p: { problem: string }) => `the output folder cannot be written: ${p.problem}`,
      hint: () => 'make the output folder a real folder (not a link), or name another with --out',
    },
    'common-block': { message: (p: { path: string; problem: string }) => `common block \`${p.path}\` is ${p.problem}`, hint: () => 'common blocks must be regular files inside the workspace' },
    'bot-folder': { message: (p: { id: string; problem: string }) => `bot folder \`${p.id}\` is ${p.problem}`, hint: () => 'bots must be real folders inside the workspace' },
    'prompts-folder': { message: (p: { bot: string; problem: string }) => `\`prompts\` of bot \`${p.bot}\` is ${p.problem}`, hint: () => 'make prompts/ a real folder inside the bot folder' },
    prompt: {
      message: (p: { base: string; problem: string }) => `prompt \`${p.base}\` is ${p.problem}`,
      hint: () => 'prompt files must be regular files inside the workspace; copy the content instead of linking it',
    },
    'prompt-name': {
      message: (p: { name: string; kind: string; problem: string }) => `\`${p.name}\` in the file name is not a valid ${p.kind} name: ${p.problem}`,
      hint: () => 'rename the file; names match ^[a-z][a-z0-9_]{0,63}$',
    },
    manifest: { message: (p: { failure: string }) => `the manifest cannot be read: ${p.failure}`, hint: () => 'make it a regular JSON file under 1 MiB' },
    'prompt-file': { message: (p: ReadFailure) => `the prompt cannot be read: ${p.failure}`, hint: (p) => p.hint },
    registry: { message: (p: { failure: string }) => `the integration registry cannot be read: ${p.failure}`, hint: () => 'replace the link with a regular file inside the workspace' },
    'module-path': { message: (p: { module: string }) => `module path \`${p.module}\` leaves integrations/`, hint: () => 'use a relative path inside integrations/, such as `github/index.ts`' },
    module: {
      message: (p: { module: string; provider: string; failure: string }) => `module \`${p.module}\` of provider \`${p.provider}\` cannot be read: ${p.failure}`,
      hint: () => 'replace the link with a regular file inside the workspace',
    },
    automation: { message: (p: { file: string; failure: string }) => `${p.file} cannot be read: ${p.failure}`, hint: () => 'make it a regular file inside the workspace' },
    'module-import': {
      message: (p: { file: string }) => `\`${p.file}\`, which the module imports, cannot be pinned in the bundle: it is a link, not a regular file inside the workspace, or over 4 MiB`,
      hint: () => 'make it a regular file inside the workspace (not a link), under 4 MiB',
    },
  }),
  'integration-registry-invalid': many('error', 'load', 'integrations/manifest.json breaks the registry format', {
    issue: detail,
    missing: {
      message: () => 'integrations/ has provider folders but no manifest.json registry',
      hint: () => 'create integrations/manifest.json with an `integrations` list naming each provider',
    },
    unreadable: { message: (p: { failure: string }) => `the integration registry cannot be read: ${p.failure}`, hint: () => 'keep the registry under 1 MiB of plain JSON' },
    'provider-twice': { message: (p: { provider: string; first: number; again: number }) => `provider \`${p.provider}\` is registered twice (entries ${p.first} and ${p.again})`, hint: () => 'keep one entry per provider' },
    'provider-renamed': {
      message: (p: { provider: string; module: string; used: string; inFolder: boolean; registry: string }) =>
        `provider \`${p.provider}\` does not match its module: every method of ${p.module} is \`${p.used}.*\`${p.inFolder ? ` and the module is in integrations/${p.used}/` : ''}`,
      hint: (p) => `did you mean \`${p.used}\`? set \`"provider": "${p.used}"\` in ${p.registry}`,
    },
    'payload-schema': {
      message: (p: { provider: string; detail: string }) => `the webhook payload schema of provider \`${p.provider}\` is not a valid JSON Schema 2020-12: ${p.detail}`,
      hint: () => 'fix the schema; it is compiled with the same rules as method schemas',
    },
    'stream-twice': { message: (p: { provider: string; stream: string }) => `provider \`${p.provider}\` declares stream \`${p.stream}\` twice`, hint: () => 'give each stream its own name: it keys the sync cursor' },
  }),
  'integration-unregistered': many('error', 'load', 'a folder under integrations/ is not in the registry', {
    folder: {
      message: (p: { name: string; registry: string }) => `folder \`${p.name}\` under integrations/ is not named by any registry entry`,
      hint: (p) => `register it in ${p.registry} (\`"module": "${p.name}/index.ts"\`) or remove the folder`,
    },
    'config-provider': {
      message: (p: { name: string; suggestion: string }) => `\`providers\` configures \`${p.name}\`, which no integration in integrations/manifest.json registers`,
      hint: (p) => p.suggestion,
    },
  }),
  'integration-module-missing': many('error', 'load', 'a registered module does not exist or fails to load', {
    unreadable: {
      message: (p: { module: string; provider: string; failure: string; file: string }) => `module \`${p.module}\` of provider \`${p.provider}\` cannot be read: ${p.failure}`,
      hint: (p) => `create ${p.file} or fix the \`module\` path`,
    },
    load: {
      message: (p: { provider: string; detail: string; botcMissing: boolean }) => `module of provider \`${p.provider}\` fails to load: ${p.detail}`,
      hint: (p) => (p.botcMissing ? 'install botc in the workspace (`npm install --save-dev botc`) so `botc/integration` resolves' : 'fix the error so the module imports cleanly'),
    },
  }),
  'integration-export-missing': many('error', 'load', 'a module lacks the named export or it is not a valid integration', {
    'no-export': { message: (p: { module: string; name: string; suggestion: string }) => `module \`${p.module}\` has no export \`${p.name}\` that is a class`, hint: (p) => p.suggestion },
    construct: {
      message: (p: { name: string; provider: string; detail: string }) => `\`${p.name}\` of provider \`${p.provider}\` throws when constructed: ${p.detail}`,
      hint: () => 'the constructor must not do I/O or need credentials at build time',
    },
    'not-integration': {
      message: (p: { name: string; provider: string; missing: readonly string[] }) => `\`${p.name}\` of provider \`${p.provider}\` is not an integration: it lacks ${listNames(p.missing)}`,
      hint: () => 'extend `BaseIntegration` from `botc/integration`, or implement describeMethods(), authStatus() and call()',
    },
    describe: { message: (p: { provider: string; detail: string }) => `describeMethods() of provider \`${p.provider}\` throws: ${p.detail}`, hint: () => 'describeMethods() must return the method list without I/O' },
    'not-array': { message: (p: { provider: string }) => `describeMethods() of provider \`${p.provider}\` does not return an array`, hint: () => 'return a list of MethodSpec objects' },
  }),
  'method-id-invalid': many('error', 'load', 'a method id is malformed or has the wrong provider prefix', {
    'in-tool': { message: (p: { id: string; problem: string }) => `\`${p.id}\` is not a method id: ${p.problem}`, hint: () => 'name each method explicitly, like `github.issues.list.v1`' },
    malformed: { message: (p: { label: string; problem: string }) => `${p.label}: ${p.problem}`, hint: () => 'method ids look like `github.issues.list.v1`' },
    prefix: {
      message: (p: { label: string; provider: string; rest: string }) => `${p.label}: the id must start with its provider \`${p.provider}.\``,
      hint: (p) => `rename it to \`${p.provider}.${p.rest}\``,
    },
  }),
  'method-duplicate': one('error', 'validate', 'two methods share one id', {
    message: (p: { id: string }) => `method \`${p.id}\` is declared twice`,
    hint: () => 'give each method its own id; a changed method gets a new version (`.v2`)',
  }),
  'method-spec-invalid': many('error', 'validate', 'a MethodSpec breaks the integration contract', {
    // The caller prefixes the method's label: a zod issue does not know which method it is about.
    issue: detail,
    provider: {
      message: (p: { label: string; provider: string; expected: string }) => `${p.label}: \`provider\` is \`${p.provider}\` but the registry entry is \`${p.expected}\``,
      hint: (p) => `set \`provider: '${p.expected}'\``,
    },
    invisible: {
      message: (p: { label: string; where: string; name: string; codePoint: string; character: number }) => `${p.label}: ${p.where} contains ${p.name} (${p.codePoint}) at character ${p.character}`,
      hint: () => 'remove invisible characters; they can hide instructions from reviewers',
    },
    idempotency: { message: (p: { label: string; problem: string }) => `${p.label}: ${p.problem}`, hint: () => 'make `idempotency` match what the method does' },
    'replacement-not-deprecated': {
      message: (p: { label: string }) => `${p.label}: it names a replacement but is not deprecated`,
      hint: () => 'set `deprecated: true`, or drop `replacement_method_id`',
    },
    'handler-typo': {
      message: (p: { key: string; method: string; suggestion: string }) => `handler \`${p.key}\` in handlers() matches no declared method, so method \`${p.method}\` has no handler and would answer UNKNOWN_METHOD`,
      hint: (p) => `${p.suggestion} rename the handler key to the method id`,
    },
    'handler-extra': {
      message: (p: { key: string }) => `handler \`${p.key}\` in handlers() matches no method that describeMethods() declares`,
      hint: () => 'declare the method in describeMethods(), or remove the handler',
    },
    'handler-missing': {
      message: (p: { id: string; extraHandlers: boolean }) => `method \`${p.id}\` has no handler in handlers(), so every call would answer UNKNOWN_METHOD`,
      hint: (p) => `add a handler keyed \`${p.id}\` to handlers()${p.extraHandlers ? '' : ', or stop declaring the method'}`,
    },
  }),
  'method-schema-invalid': many('error', 'validate', 'an input or output schema is not a valid, safe JSON Schema', {
    schema: { message: (p: { label: string; which: string; detail: string; hint: string }) => `${p.label}: ${p.which}: ${p.detail}`, hint: (p) => p.hint },
    invisible: {
      message: (p: { label: string; where: string; name: string; codePoint: string; character: number }) => `${p.label}: ${p.where} contains ${p.name} (${p.codePoint}) at character ${p.character}`,
      hint: () => 'remove invisible characters; they can hide instructions from reviewers',
    },
  }),
  'method-schema-lint': one('warning', 'validate', 'a valid schema construct that is likely a mistake', {
    message: (p: { label: string; which: string; pointer: string; detail: string; hint: string }) => `${p.label}: ${p.which}: ${p.pointer || '/'}: ${p.detail}`,
    hint: (p) => p.hint,
  }),
  'method-deprecated': one('warning', 'cross-file', 'a tool uses a deprecated method', {
    message: (p: { id: string; replacement: string | null }) => `\`${p.id}\` is deprecated`,
    hint: (p) => (p.replacement ? `use \`${p.replacement}\` instead` : 'its integration names no replacement; plan to remove the method from the tool'),
  }),
  'replacement-unknown': one('error', 'validate', '`replacement_method_id` names no declared method', {
    message: (p: { id: string; replacement: string; suggestion: string | undefined }) => `method \`${p.id}\` names replacement \`${p.replacement}\`, which no integration declares`,
    hint: (p) => p.suggestion ?? 'declare the replacement method, or fix the id',
  }),
  'classification-violation': one('error', 'validate', "a method's capabilities break its integration's classification", {
    message: (p: { label: string; classification: string; forbidden: readonly string[]; allowed: readonly string[] }) =>
      `${p.label}: a \`${p.classification}\` integration may not have ${listNames(p.forbidden)} capabilities`,
    hint: (p) => `\`${p.classification}\` allows ${listNames(p.allowed)}; move the method to an integration of another class or drop the capability`,
  }),
  'mode-not-approved': one('error', 'validate', 'an advanced mode lacks `architecture_approval`', {
    message: (p: { provider: string; modes: readonly string[] }) => `provider \`${p.provider}\` uses ${listNames(p.modes)} without an architecture approval`,
    hint: () =>
      'streaming, queue and bidirectional_sync need `"architecture_approval": {"ref": "...", "approved_by": "..."}` after a design review (docs/governance.md, modes and tool composition)',
  }),
  'permission-invalid': many('error', 'validate', 'partner permissions are wildcard, unjustified, or beyond the tier', {
    'no-tier': { message: (p: { provider: string }) => `provider \`${p.provider}\` declares permissions but no partner tier`, hint: () => 'add `"tier": 1`, `2` or `3` (docs/governance.md, partner tiers)' },
    wildcard: { message: (p: { type: string; types: readonly string[] }) => `wildcard permission \`${p.type}\` is not allowed`, hint: (p) => `declare each type explicitly: ${listNames(p.types)}` },
    unknown: { message: (p: { type: string; types: readonly string[] }) => `\`${p.type}\` is not a permission type`, hint: (p) => `partner-defined permissions are forbidden; use ${listNames(p.types)}` },
    'no-justification': {
      message: (p: { type: string }) => `permission \`${p.type}\` has no justification`,
      hint: () => 'add `"justification"`: why the integration needs it (docs/governance.md, partner tiers)',
    },
    twice: { message: (p: { type: string }) => `permission \`${p.type}\` is declared twice`, hint: () => 'keep one entry per permission type' },
    tier: {
      message: (p: { tier: number; type: string; minimum: number }) => `tier ${p.tier} may not hold \`${p.type}\` permissions`,
      hint: (p) => `\`${p.type}\` needs tier ${p.minimum} or higher; raise the tier or drop the permission`,
    },
  }),
  'permission-missing': one('error', 'validate', 'a method needs a permission its integration does not declare', {
    message: (p: { label: string; needed: readonly string[]; provider: string; registry: string }) =>
      `${p.label}: it needs the ${listNames(p.needed)} permission${p.needed.length > 1 ? 's' : ''}, which partner \`${p.provider}\` does not declare`,
    hint: (p) => `add ${p.needed.map((t) => `{"type": "${t}", "justification": "..."}`).join(', ')} to \`permissions\` in ${p.registry}`,
  }),
  'lifecycle-deprecated': one('warning', 'cross-file', 'a tool uses an integration in `deprecated`', {
    message: (p: { id: string; provider: string }) => `\`${p.id}\` belongs to \`${p.provider}\`, which is deprecated`,
    hint: () => 'plan a migration: deprecated integrations are restricted and will reach end of support',
  }),
  'lifecycle-end-of-support': one('error', 'cross-file', 'a tool uses an integration in `end_of_support`', {
    message: (p: { id: string; provider: string }) => `\`${p.id}\` belongs to \`${p.provider}\`, which has reached end of support and is disabled`,
    hint: () => 'migrate the tool to another integration; end-of-support integrations cannot be installed',
  }),
  'config-invalid': many('error', 'config', 'botc.config.json does not parse or breaks its format', { issue: detail }),
  'method-redefined': one('error', 'resolve', "a locked method id's schemas changed incompatibly", {
    message: (p: { id: string; changes: string; next: string }) => `method \`${p.id}\` changed incompatibly since it was locked: ${p.changes}`,
    hint: (p) => `publish \`${p.next}\` with the new schema and keep \`${p.id}\` until its tools move; or undo the change`,
  }),
  'lock-outdated': many('warning', 'resolve', 'a locked method changed compatibly and `botc lock` was not run', {
    changed: { message: (p: { id: string }) => `method \`${p.id}\` changed compatibly since it was locked`, hint: () => 'run `botc lock` to record the change' },
    unrecorded: {
      message: (p: { added: readonly string[]; removed: readonly string[] }) =>
        [
          ...(p.added.length > 0 ? [`${p.added.length} new method(s) are not locked: ${listNames(p.added)}`] : []),
          ...(p.removed.length > 0 ? [`${p.removed.length} locked method(s) are no longer declared: ${listNames(p.removed)}`] : []),
        ].join('; '),
      hint: () => 'run `botc lock` to record them',
    },
  }),
  'file-encoding': many('error', 'load', 'a text input is not UTF-8 (UTF-16, Windows-1252, NUL bytes); names the line, column and byte', {
    decode: detail,
    automation: { message: (p: { file: string; failure: string }) => `${p.file} cannot be read: ${p.failure}`, hint: () => 'save it as UTF-8' },
  }),
  'prompt-file-misnamed': many('warning', 'cross-file', 'a file in a prompts folder looks like a prompt but does not follow the layout; the hint names the expected file name', {
    common: {
      message: (p: { base: string; stem: string }) => `\`${p.base}\` looks like a common block but does not end in \`.md\`, so the build ignores it`,
      hint: (p) => `rename it to ${p.stem}.md, or move it out of prompts/ if it is not a prompt`,
    },
    bot: {
      message: (p: { base: string; expected: string; exists: boolean }) => `\`${p.base}\` looks like a prompt file but is not named as one, so the build ignores it`,
      hint: (p) =>
        p.expected.includes('<name>')
          ? `name it ${p.expected}, where <name> matches ^[a-z][a-z0-9_]{0,63}$`
          : p.exists
            ? `${p.expected} exists too: merge the two files, or move ${p.base} out of prompts/`
            : `rename it to ${p.expected}${p.expected === 'personality.md' ? ' (a bot has one personality)' : ''}, or move it out of prompts/ if it is not a prompt`,
    },
  }),
  'description-too-long': many('warning', 'validate', 'a tool or method description is over 1024 characters (OpenAI-compatible APIs reject it)', {
    tool: {
      message: (p: { name: string; length: number; limit: number }) =>
        `the description of tool \`${p.name}\` is ${p.length} characters long; OpenAI-compatible APIs refuse a function description over ${p.limit}, so exports of this tool would fail there`,
      hint: (p) => `shorten it to ${p.limit} characters or fewer; usage detail belongs in prompts/tool_${p.name}.md, which the expert's system prompt carries`,
    },
    method: {
      message: (p: { name: string; length: number; limit: number }) =>
        `the description of method \`${p.name}\` is ${p.length} characters long; OpenAI-compatible APIs refuse a function description over ${p.limit}, so \`methods\`-style exports of it would fail there`,
      hint: (p) => `shorten it to ${p.limit} characters or fewer; how to use the method belongs in the tool prompt (prompts/tool_<tool>.md) of the bots that install it`,
    },
  }),
  'mode-unsupported': many('error', 'validate', 'an integration declares a mode without what the mode needs (webhook events, sync streams)', {
    webhook: {
      message: (p: { provider: string }) => `provider \`${p.provider}\` declares mode \`webhook\` but no webhook events`,
      hint: () =>
        'add `"webhook": {"scheme": "github", "event_id": {"header": "x-github-delivery"}, "event_type": {"header": "x-github-event"}, "payload_schema": {"type": "object"}}` to its registry entry (docs/inbound.md), or drop the mode',
    },
    'polling-sync': {
      message: (p: { provider: string }) => `provider \`${p.provider}\` declares mode \`polling_sync\` but no sync streams`,
      hint: (p) =>
        `add \`"streams": [{"name": "contacts", "method_id": "${p.provider}.contacts.import.v1", "interval_seconds": 900, "record_id": "/id"}]\` to its registry entry (docs/inbound.md), or drop the mode`,
    },
    'stream-method-unknown': {
      message: (p: { stream: string; provider: string; method: string; suggestion: string | undefined }) =>
        `stream \`${p.stream}\` of provider \`${p.provider}\` names method \`${p.method}\`, which the integration does not declare`,
      hint: (p) => p.suggestion ?? "name one of the integration's own `import` methods",
    },
    'stream-method-not-import': {
      message: (p: { stream: string; provider: string; method: string }) => `stream \`${p.stream}\` of provider \`${p.provider}\` names method \`${p.method}\`, which lacks the \`import\` capability`,
      hint: () => "a stream's records go to the review queue: give the method the `import` capability (an `inbound` integration)",
    },
  }),
  'block-unknown-tool': one('warning', 'cross-file', 'a literal (non-glob) `fexp_block_tools` name matches no tool of the bot', {
    message: (p: { pattern: string; bot: string; suggestion: string }) => `\`fexp_block_tools\` names \`${p.pattern}\`, which bot \`${p.bot}\` does not install, so it blocks nothing`,
    hint: (p) => p.suggestion,
  }),
  'automation-invalid': many(
    'error',
    'resolve',
    'an automation names an unknown bot, expert, tool or method, proposes no outbound write, or its params break the input schema',
    {
      issue: { message: (p: { where: string; detail: string; hint: string }) => `${p.where}: ${p.detail}`, hint: (p) => p.hint },
      bot: { message: (p: { bot: string; suggestion: string }) => `\`propose.bot\` names \`${p.bot}\`, which is no bot of the workspace`, hint: (p) => p.suggestion },
      expert: { message: (p: { bot: string; expert: string; suggestion: string }) => `bot \`${p.bot}\` has no expert \`${p.expert}\``, hint: (p) => p.suggestion },
      tool: { message: (p: { expert: string; tool: string; suggestion: string }) => `expert \`${p.expert}\` may not use a tool \`${p.tool}\``, hint: (p) => p.suggestion },
      method: { message: (p: { tool: string; method: string; suggestion: string }) => `tool \`${p.tool}\` has no method \`${p.method}\``, hint: (p) => p.suggestion },
      'not-write': {
        message: (p: { method: string; tool: string; methods: readonly string[] }) =>
          `\`${p.method}\` is not an outbound write: an automation only proposes writes that a person confirms, and anything else would run on its own`,
        hint: (p) => `propose a method with a write capability; ${p.tool}'s methods: ${listNames(p.methods)}`,
      },
      params: {
        message: (p: { method: string; tool: string; detail: string }) => `\`propose.params\` do not match the input schema of ${p.method}: ${p.detail}`,
        hint: (p) => `\`botc help\` of tool ${p.tool} shows the method's parameters`,
      },
    },
  ),
} satisfies Record<string, DiagnosticDefinition<never>>;

/** Every diagnostic code (README, Diagnostics). */
export type DiagnosticCode = keyof typeof DIAGNOSTICS;

/** The parameters the message and hint of `code` are built from. */
export type DiagnosticParams<C extends DiagnosticCode> = Parameters<(typeof DIAGNOSTICS)[C]['message']>[0];
