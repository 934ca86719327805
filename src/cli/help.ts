// Over 300 lines: the help text of every command, kept in one module that loads nothing else.
/**
 * The help texts of the CLI. Kept apart from the commands so that `botc --help` and
 * `botc --version` load nothing else (they must answer at once, also in CI scripts).
 */

interface CommandHelp {
  /** One line for the command list of `botc --help`. */
  summary: string;
  /** The full text of `botc help <command>` and `botc <command> --help`. */
  text: string;
}

const WORKSPACE = `The workspace root is --root DIR, else the nearest folder at or above the current one that
holds botc.config.json, or bots/ and integrations/; without one botc stops (exit 2).`;

const STATE = `State: --state URL or BOTC_STATE_URL (postgres://... or a SQLite file), else
<root>/.botc/state.db.`;

const TENANT = `Tenants: commands that change state act on --tenant (default: \`default\`); list and verify
show every tenant unless --tenant names one.`;

const LISTS = `Lists print one JSON array; --format ndjson prints one JSON object per line instead.
Times are ISO 8601 (UTC).`;

const BUILD_FLAGS = `  --root DIR        the workspace (see below)
  --bot ID          only this bot (repeatable)
  --format F        pretty (default), json or github (GitHub Actions annotations, paths
                    relative to the repository root)
  --no-cache        ignore the build cache in .botc/cache/ (results are the same either way)
  --watch           build again after every change, printing diagnostics and a status line;
                    Ctrl-C stops`;

const COLOUR = `Colour: only on a terminal; NO_COLOR or TERM=dumb turn it off, FORCE_COLOR=1 turns it on
(FORCE_COLOR=0 off).`;

export const COMMAND_HELP: Record<string, CommandHelp> = {
  build: {
    summary: 'validate the workspace and write one bundle per bot',
    text: `Usage: botc build [--root DIR] [--out DIR] [--bot ID]... [--format pretty|json|github] [--no-cache] [--watch]

Validates the workspace and writes one bundle per bot; nothing is written unless the whole
build is free of errors.

${BUILD_FLAGS}
  --out DIR         where bundles go, relative to the current folder (default: \`out\` of
                    botc.config.json, else dist/ under the root)

${WORKSPACE}
${COLOUR}

Exit status: 0 no errors (warnings allowed), 1 errors found, 2 bad usage or internal failure.
`,
  },
  check: {
    summary: 'validate everything, write nothing',
    text: `Usage: botc check [--root DIR] [--bot ID]... [--format pretty|json|github] [--no-cache] [--watch]

Does everything \`botc build\` does but write.

${BUILD_FLAGS}

${WORKSPACE}
${COLOUR}

Exit status: 0 no errors (warnings allowed), 1 errors found, 2 bad usage or internal failure.
`,
  },
  explain: {
    summary: 'show how an expert\'s system prompt is put together, block by block',
    text: `Usage: botc explain <bundle> --expert E [--root DIR] [--format pretty|json]

Lists each block of the expert's system prompt with its kind, source file and offsets (in
Unicode code points), then each common block of the workspace (prompts/*.md) as in or out of
that prompt, and why: no \`when_tools_any\` (every expert), or the tools of the expert that it
names, or none. A source changed since the bundle was built is marked.

  --expert E        the expert to explain (required)
  --root DIR        the workspace the bundle was built from (see below)
  --format F        pretty (default) or json

${WORKSPACE}

Exit status: 0 explained, 2 bad usage (no such expert, unreadable bundle, no workspace).
`,
  },
  call: {
    summary: 'run one tool call through a bundle and print the result as JSON',
    text: `Usage: botc call <bundle> --expert E --tool T --op OP [--args JSON] [--tenant T]
                 [--root DIR] [--credentials FILE] [--state URL] [--approver NAME] [--trace-id ID]

Runs one tool call ({op, args}) through a bundle and prints the result as JSON.

  --credentials FILE  JSON {"<tenant>": {"<provider>": {"secret", "scopes"}}}; also
                      BOTC_CREDENTIALS_FILE, BOTC_CREDENTIAL_<PROVIDER>, or the encrypted
                      store when BOTC_SECRET_KEY is set
  --approver NAME     the person who may confirm an outbound write this call proposes

${WORKSPACE}
${STATE}
${TENANT}

Exit status: 0 the result is ok, 1 the result is an error, 2 bad usage or a bundle that does
not load.
`,
  },
  confirm: {
    summary: 'send an outbound write a person approved',
    text: `Usage: botc confirm <bundle> --approver NAME [--token-file FILE] [--tenant T] [--params JSON]
                    [--root DIR] [--state URL]
       botc confirm list [--status pending|executed|rejected|expired] [--tenant T] [--format json|ndjson]
       botc confirm approve <ID> --approver NAME [--tenant T] [--root DIR] [--state URL]
       botc confirm reject <ID> --approver NAME [--reason TEXT] [--tenant T] [--state URL]

Sends an outbound write that a call answered with CONFIRMATION_REQUIRED. The token is read
from standard input, or from --token-file FILE; never give it as an argument (every user of
the machine can read arguments in \`ps\`):

  printf '%s' "$TOKEN" | botc confirm dist/bot.bundle.json --approver alice

Or, with access to the state store, by the confirmation's public id (conf_..., in
meta.confirmation.id; no token needed): \`list\` shows each confirmation and what it would
send (never the token), \`approve\` sends it with the bundle file that proposed it (refused if
that file changed), \`reject\` refuses it for good. A confirmation already used or rejected
answers CONFLICT.

  --approver NAME   the person confirming or rejecting (default: $USER)
  --params JSON     the params the person approved, when the host changed them
  --reason TEXT     why it is rejected (recorded with the decision and in the audit log)

${WORKSPACE}
${STATE}
${TENANT}

Exit status: 0 sent (or rejected, or listed), 1 the result is an error, 2 bad usage.
`,
  },
  review: {
    summary: 'list imported records waiting for review; approve or reject them',
    text: `Usage: botc review list [--status pending|approved|rejected] [--batch ID] [--tenant T] [--format json|ndjson]
       botc review approve|reject <ID>... [--reviewer NAME] [--tenant T]

Imported records stay untrusted until a person approves them. An ID is a record (rev_...)
or a whole import batch (batch_...): approving a batch approves each of its pending records.

  --reviewer NAME   the person deciding (default: $USER)

${WORKSPACE}
${STATE}
${TENANT}
${LISTS}

Exit status: 0 done, 1 an ID names nothing pending, 2 bad usage.
`,
  },
  credentials: {
    summary: 'store tenant credentials, encrypted with BOTC_SECRET_KEY',
    text: `Usage: botc credentials add <provider> --scopes a,b [--tenant T]
       botc credentials list [--tenant T] [--format json|ndjson]
       botc credentials add <provider> --webhook-secret [--tenant T]
       botc credentials revoke <provider> [--webhook-secret] [--tenant T]

Credentials are encrypted with BOTC_SECRET_KEY (32 bytes, hex or base64). \`add\` reads the
secret from standard input, never from an argument; the provider must be one the workspace
registry (integrations/manifest.json) declares, and --scopes lists the scopes the secret was
granted (\`--scopes ''\` for none).

${WORKSPACE}
${STATE}
${TENANT}
${LISTS}

Exit status: 0 done, 1 nothing to revoke, 2 bad usage.
`,
  },
  auth: {
    summary: 'sign a tenant in to a provider with OAuth (PKCE), show or revoke its tokens',
    text: `Usage: botc auth login <provider> [--tenant T] [--client-secret-stdin] [--timeout-ms MS]
       botc auth status [--tenant T]
       botc auth revoke <provider> [--tenant T] [--client-secret-stdin]

\`login\` runs the OAuth 2 authorization code flow with PKCE for the provider configured in
botc.config.json (\`providers.<provider>.oauth\`: \`issuer\`, or \`authorization_endpoint\` and
\`token_endpoint\`, plus \`client_id\`, \`scopes\`, \`redirect_port\`). It prints the authorization
URL as the first line of standard output, waits for the redirect on
http://127.0.0.1:<redirect_port>/callback (default 5 minutes), checks its state, exchanges the
code and stores the tokens in the vault (encrypted with BOTC_SECRET_KEY). The client secret is
BOTC_OAUTH_<PROVIDER>_CLIENT_SECRET, or standard input with --client-secret-stdin; none for a
public client. \`status\` prints a JSON array of active credentials (provider, expiry, scopes;
never a token). \`revoke\` revokes the tokens at the provider (RFC 7009) when it has a
revocation endpoint, then in the vault.

${WORKSPACE}
${STATE}

Exit status: 0 done, 1 the provider refused or nothing to revoke, 2 bad usage.
`,
  },
  audit: {
    summary: 'list the audit log, or verify its hash chain',
    text: `Usage: botc audit list [--tenant T] [--since ISO] [--until ISO] [--integration P] [--outcome O]
                       [--action A] [--limit N] [--format json|ndjson]
       botc audit verify [--tenant T] [--checkpoint FILE]
       botc audit checkpoint [--tenant T]

\`verify\` checks the hash chain and exits 1 naming the first bad entry. --outcome is \`ok\`,
\`pending\` or an error code, in any case (\`--outcome auth_forbidden\`).
\`checkpoint\` prints each tenant's last entry (tenant, seq, hash) signed with
BOTC_AUDIT_SIGNING_KEY (Ed25519); keep it outside the store. \`verify --checkpoint FILE\` checks
the signature with BOTC_AUDIT_VERIFY_KEY and proves the log still extends it.

${WORKSPACE}
${STATE}
${TENANT}
${LISTS}

Exit status: 0 done (verify: intact), 1 verify found a broken chain, 2 bad usage.
`,
  },
  export: {
    summary: 'print tool definitions of one expert for an agent runtime',
    text: `Usage: botc export <bundle> --target T [--expert E] [--style envelope|methods] [--strict]
                   [--server NAME]

Prints one JSON document of the expert's tools for an agent runtime, with schemas rewritten to
what that runtime accepts. Targets: openai-responses, openai-chat, anthropic, gemini, mcp,
claude-code (one .claude/agents/<expert>.md per expert, and .mcp.json).

  --expert E        the expert (may be omitted when the bot has one; claude-code: all)
  --style S         envelope (default): one function per tool, input {op, args};
                    methods: one function per method, named <tool>__<method id with _>
  --strict          the target's strict mode (openai-*, anthropic)
  --server NAME     the MCP server name in claude-code tool names (mcp__<server>__<tool>)

Exit status: 0 printed, 1 the bundle cannot be exported for the target (problems on stderr),
2 bad usage.
`,
  },
  sync: {
    summary: 'run the scheduled sync streams of the workspace into the review queue',
    text: `Usage: botc sync run [--once] [--tenant T]... [--provider P] [--bundles DIR] [--root DIR] [--state URL]
                     [--credentials FILE]

Runs each due stream (registry \`streams\`: method, interval, record id) of each tenant T
(--tenant repeats; default \`default\`) through the built bundle that carries its method (DIR,
default <root>/dist): reads the stream's cursor, calls the method page by page, and commits each
page's records (upserted by record id) with the next cursor in one transaction into the review
queue. One run per stream and interval across every process on the store; a failure is audited
and waits for the next interval. Prints one JSON line per run. --once runs what is due and
exits; otherwise it is a worker until SIGINT or SIGTERM: on PostgreSQL the workers of every
machine share one job queue in the database (schema botc_jobs), on SQLite an in-process
scheduler runs each stream at the start of its interval.

${WORKSPACE}
${STATE}

Exit status: 0 done, 1 a run failed (--once), 2 bad usage.
`,
  },
  automations: {
    summary: 'turn internal events into writes that a person must confirm',
    text: `Usage: botc automations run [--once] [--replay] [--tenant T] [--bundles DIR] [--root DIR]
                            [--state URL] [--credentials FILE]

For each automation (automations/<name>.json) and each new event of its type whose payload
matches its filter, proposes the automation's write through the built bundle of its bot
(DIR/<bot>.bundle.json, DIR default <root>/dist): a pending confirmation with a dry-run
preview, for the automation's approver. It never confirms: a person does (botc confirm
approve <id>). Each (automation, event) is handled at most once across every process on the
store; an event caused by an automation's own proposal does not trigger it again. Prints one
JSON line per handled event. --replay reads every event again (handled ones stay handled);
--tenant only that tenant's events. --once makes one pass and exits; otherwise it looks again
every 2 seconds until SIGINT or SIGTERM.

${WORKSPACE}
${STATE}

Exit status: 0 done, 1 a proposal failed or an automation cannot run (--once), 2 bad usage.
`,
  },
  serve: {
    summary: 'serve one expert as an MCP server (stdio, or Streamable HTTP), or receive webhooks',
    text: `Usage: botc serve mcp <bundle> --expert E [--http HOST:PORT] [--tenant T] [--style envelope|methods]
                      [--approver NAME] [--root DIR] [--state URL]
       botc serve webhooks [--http HOST:PORT] [--max-body BYTES] [--root DIR] [--state URL]

Serves one expert's tools as an MCP server: over stdio by default, or stateless Streamable HTTP
at /mcp with --http (loopback by default; Host and Origin are checked; another address needs
BOTC_MCP_TOKEN, at least 16 characters, as a bearer token). The expert's system prompt is the
server's instructions and a prompt. Outbound writes wait for a person: through the client's
elicitation when it supports it, else with \`botc confirm\`; no token ever reaches the model.

\`serve webhooks\` receives POST /webhooks/<tenant>/<provider> for every provider whose registry
entry declares webhook events (default 127.0.0.1:8790; body cap --max-body, default 1 MiB):
signature checked over the raw bytes with the tenant's webhook secret (\`botc credentials add
<provider> --webhook-secret\`, BOTC_SECRET_KEY), deliveries deduplicated in the store, events
queued for review, never executed. Answers 202 queued, 200 replay, 400, 401, 404, 409, 413.

${WORKSPACE}
${STATE}

Exit status: 0 stopped cleanly, 2 bad usage.
`,
  },
  lock: {
    summary: 'record every declared method in botc.lock.json',
    text: `Usage: botc lock [--root DIR]

Records every method the integrations declare in botc.lock.json (sorted, byte-stable): new ids
are added, compatible changes updated, unused ids dropped. A breaking change of a locked id is
refused (method-redefined) and nothing is written: publish a new version (.v2) instead.

${WORKSPACE}

Exit status: 0 written or up to date, 1 errors found, 2 bad usage.
`,
  },
  diff: {
    summary: 'compare two builds: experts, prompt blocks, tools, methods',
    text: `Usage: botc diff <old.bundle.json|DIR> <new.bundle.json|DIR> [--format F] [--fail-on breaking|any]

Compares two builds bot by bot: experts and tools added or removed, each system prompt block by
block with a unified diff, methods added, removed or changed (breaking or compatible),
classification, lifecycle, tier and module changes.

  --format F        pretty (default), json, markdown (a pull-request comment) or github
  --fail-on X       exit 1 when there is a breaking change (breaking) or any change (any)

Exit status: 0 compared, 1 --fail-on matched, 2 bad usage or a bundle that does not load.
`,
  },
  console: {
    summary: 'serve the web console: confirmations, review queue, audit log, bundles',
    text: `Usage: botc console [--http HOST:PORT] [--root DIR] [--state URL]
       botc console users add NAME --tenant T [--root DIR]   (the secret on standard input)
       botc console users list [--tenant T] [--root DIR]
       botc console users remove NAME --tenant T [--root DIR]

Serves the web console for the people who govern: pending confirmations with the exact request
(approve sends it through the bundle that proposed it, reject uses it up), the review queue
(approve or reject per record or per batch, with a diff against the last approved version),
the audit log (filters, chain verification) and the built bundles of the workspace.

People sign in per tenant and see only their tenant. Secrets are stored as Argon2id hashes in
<root>/.botc/console-users.json.

  --http HOST:PORT  where to listen (default 127.0.0.1:8780); a non-loopback address needs
                    BOTC_CONSOLE_ALLOWED_HOSTS (the host names people use) when it is a wildcard
  BOTC_CONSOLE_TLS_CERT, BOTC_CONSOLE_TLS_KEY  PEM files: serve HTTPS with Secure cookies

Credentials for approved writes come from the environment or the encrypted store
(BOTC_SECRET_KEY), provider settings from botc.config.json, as for \`botc call\`.

${WORKSPACE}
${STATE}

Exit status: 0 stopped (SIGINT/SIGTERM) or done, 1 no such user to remove, 2 bad usage.
`,
  },
  impact: {
    summary: 'list the bots, tools and experts that use a method or provider',
    text: `Usage: botc impact <method_id|provider> [--root DIR] [--format pretty|json]

Lists every bot, tool and expert that uses a method id, or any method of a provider.

${WORKSPACE}

Exit status: 0 listed, 1 the workspace has errors, 2 bad usage.
`,
  },
};

/** The commands, in the order `botc --help` lists them. */
export const COMMANDS = Object.keys(COMMAND_HELP);

/** `botc --help`. */
export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.length));
  const list = COMMANDS.map((c) => `  ${c.padEnd(width)}  ${COMMAND_HELP[c]!.summary}`).join('\n');
  return `botc: the bot compiler

Usage: botc <command> [options]

Commands:
${list}

  botc help <command>     the options of one command (or: botc <command> --help)
  botc --version          the version of botc

${WORKSPACE}
${STATE}

Exit status: 0 no errors (warnings allowed), 1 errors found, 2 bad usage or internal failure.
`;
}
