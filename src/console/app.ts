// Over 300 lines: every route of the console in one Hono app, so the session, CSRF and tenant checks read in one place.
import { diffLines } from 'diff';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import { html } from 'hono/html';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Bundle } from '../bundle/format.ts';
import type { IntegrationResult } from '../integration/types.ts';
import { readBundle } from '../runtime/bundle-schema.ts';
import { decideReview } from '../state/reviews.ts';
import type { AuditEntry, ReviewItem, StateStore } from '../state/types.ts';
import { ApprovedVersions } from './approved.ts';
import { CONSOLE_CSS, CONSOLE_JS } from './assets.ts';
import { decideConfirmation, getConfirmation, listConfirmations, previewSha, type ConfirmationView, type RuntimeFactory } from './confirmations.ts';
import { randomToken, sameToken, Sessions, SESSION_TTL_MS, type Session } from './sessions.ts';
import type { ConsoleUsers } from './users.ts';
import { badge, csrfField, json, notice, page, redactHeaders, type Markup } from './views.ts';

/** What the console serves and acts on. */
export interface ConsoleOptions {
  store: StateStore;
  users: ConsoleUsers;
  /** The folder of built bundles (`<bot>.bundle.json`). */
  bundlesDir: string;
  /** Loads a runtime for a confirmation's recorded bundle, to preview and execute it. */
  runtimeFor: RuntimeFactory;
  /** Approved versions of imported records, for diffs. In memory when absent. */
  approved?: ApprovedVersions;
  /** Served over TLS: cookies get `Secure` and the `__Host-` prefix. */
  secure?: boolean;
  /** Host names the Host header may carry (DNS rebinding); any when absent. */
  allowedHosts?: readonly string[];
  now?: () => number;
}

type Env = { Variables: { session: Session } };

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/** Forms are small; anything larger is not one of ours. */
const BODY_CAP = 64 * 1024;
const AUDIT_PAGE = 200;

/**
 * The console: server-rendered pages for the people who govern one tenant each. Every page but
 * sign-in needs a session; every POST carries the session's CSRF token; every lookup is by the
 * session's tenant, so another tenant's id answers 404 like an unknown one.
 */
export function createConsoleApp(options: ConsoleOptions): Hono<Env> {
  const { store, users } = options;
  const now = options.now ?? Date.now;
  const sessions = new Sessions(now);
  const approved = options.approved ?? new ApprovedVersions();
  const previews = new Map<string, IntegrationResult>();
  const cookieName = options.secure ? '__Host-botc_session' : 'botc_session';
  const loginCookie = options.secure ? '__Host-botc_login' : 'botc_login';
  const cookieOptions = { httpOnly: true, sameSite: 'Strict', path: '/', secure: options.secure === true } as const;
  const allowed = options.allowedHosts ? new Set(options.allowedHosts.map((h) => h.toLowerCase())) : undefined;

  const app = new Hono<Env>();

  app.use('*', async (c, next) => {
    if (allowed) {
      const host = (c.req.header('host') ?? new URL(c.req.url).host).toLowerCase().replace(/:\d+$/, '');
      if (!allowed.has(host)) return c.text('unknown host\n', 421);
    }
    await next();
    c.header('Content-Security-Policy', CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('X-Frame-Options', 'DENY');
    // `same-origin`, not `no-referrer`: with no referrer at all, browsers send `Origin: null` on
    // the console's own form posts, and the cross-site check below could not tell them apart.
    c.header('Referrer-Policy', 'same-origin');
    c.header('Cross-Origin-Opener-Policy', 'same-origin');
    c.header('Cross-Origin-Resource-Policy', 'same-origin');
    c.header('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
    if (!c.req.path.startsWith('/assets/')) c.header('Cache-Control', 'no-store');
    if (options.secure) c.header('Strict-Transport-Security', 'max-age=31536000');
  });
  app.use('*', bodyLimit({ maxSize: BODY_CAP, onError: (c) => c.text('request too large\n', 413) }));
  // A cross-site form post is refused before anything else, whatever cookies it carries.
  app.use('*', async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const site = c.req.header('sec-fetch-site');
      const origin = c.req.header('origin');
      if ((site && site !== 'same-origin' && site !== 'none') || (origin && origin !== new URL(c.req.url).origin)) return c.text('cross-site request refused\n', 403);
    }
    await next();
  });

  app.get('/assets/console.js', (c) => c.body(CONSOLE_JS, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=300' }));
  app.get('/assets/console.css', (c) => c.body(CONSOLE_CSS, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'max-age=300' }));

  const loginPage = (c: Context<Env>, message?: string, status: 200 | 401 | 403 = 200) => {
    // One token per browser for a while: a second load of the form (another tab, a prefetch)
    // must not invalidate the first.
    const existing = getCookie(c, loginCookie);
    const token = existing && /^[A-Za-z0-9_-]{43}$/.test(existing) ? existing : randomToken();
    setCookie(c, loginCookie, token, { ...cookieOptions, maxAge: 600 });
    return c.html(page('Sign in', undefined, '', html`<div class="login"><h1>Sign in</h1>
${notice('bad', message)}
<form method="post" action="/login">
<input type="hidden" name="_csrf" value="${token}">
<div><label for="tenant">Tenant</label><input id="tenant" name="tenant" autocomplete="organization" required data-autofocus></div>
<div><label for="name">Name</label><input id="name" name="name" autocomplete="username" required></div>
<div><label for="secret">Secret</label><input id="secret" name="secret" type="password" autocomplete="current-password" required></div>
<button class="primary" type="submit">Sign in</button>
</form></div>`), status);
  };

  app.get('/login', (c) => loginPage(c));
  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    if (!sameToken(str(form['_csrf']), getCookie(c, loginCookie))) return loginPage(c, 'The sign-in form expired; try again.', 403);
    const [tenant, name, secret] = [str(form['tenant']).trim(), str(form['name']).trim(), str(form['secret'])];
    if (!(await users.verify(name, tenant, secret))) return loginPage(c, 'Wrong tenant, name or secret.', 401);
    // A new session id at each sign-in: an id planted before sign-in is never promoted.
    sessions.end(getCookie(c, cookieName));
    const session = sessions.create(name, tenant);
    deleteCookie(c, loginCookie, cookieOptions);
    setCookie(c, cookieName, session.id, { ...cookieOptions, maxAge: Math.floor(SESSION_TTL_MS / 1000) });
    await store.appendAudit({ tenant, action: 'console.signed_in', actor: `user:${name}`, integration: null, method_id: null, outcome: 'ok', trace_id: null, detail: {} });
    return c.redirect('/confirmations', 303);
  });

  // Everything below needs a session of a person who still exists, and a POST its CSRF token.
  app.use('*', async (c, next) => {
    const session = sessions.get(getCookie(c, cookieName));
    if (!session || !users.exists(session.name, session.tenant)) {
      if (session) sessions.end(session.id);
      return c.req.method === 'GET' ? c.redirect('/login', 303) : c.text('sign in first\n', 401);
    }
    if (c.req.method === 'POST') {
      const form = await c.req.parseBody();
      if (!sameToken(str(form['_csrf']), session.csrf)) return c.text('missing or wrong CSRF token; reload the page\n', 403);
    }
    c.set('session', session);
    await next();
  });

  app.post('/logout', (c) => {
    sessions.end(c.get('session').id);
    deleteCookie(c, cookieName, cookieOptions);
    return c.redirect('/login', 303);
  });

  app.get('/', (c) => c.redirect('/confirmations', 303));

  // ---- Confirmations ----
  app.get('/confirmations', async (c) => {
    const session = c.get('session');
    const all = await listConfirmations(store, session.tenant, now());
    return c.html(page('Confirmations', session, '/confirmations', html`<h1>Confirmations</h1>
<p>Outbound writes a model proposed, waiting for a person. Pending ones come first.</p>
${all.length === 0 ? html`<p>No confirmations in tenant ${session.tenant}.</p>` : html`<div class="table-wrap"><table>
<caption class="skip">Confirmations of tenant ${session.tenant}</caption>
<thead><tr><th scope="col">Status</th><th scope="col">Request</th><th scope="col">Bot / expert</th><th scope="col">Tool</th><th scope="col">Approver</th><th scope="col">Expires</th></tr></thead>
<tbody>${all.map((v) => html`<tr><td>${badge(v.status)}</td><td><a href="/confirmations/${v.id}">${v.method_id}</a></td><td>${v.bot} / ${v.expert}</td><td>${v.tool}</td><td>${v.approver}</td><td><time datetime="${v.expires_at}">${v.expires_at}</time></td></tr>`)}</tbody>
</table></div>`}`));
  });

  const confirmationPage = async (c: Context<Env>, id: string, outcome?: { kind: 'ok' | 'bad'; text: string; result?: IntegrationResult | null }, status: 200 | 409 = 200) => {
    const session = c.get('session');
    const v = await getConfirmation(store, session.tenant, id, now());
    if (!v) return notFound(c, session);
    const preview = v.status === 'pending' ? await previewOf(v) : undefined;
    return c.html(page(`Confirmation ${v.id}`, session, '/confirmations', html`<p><a href="/confirmations">← All confirmations</a></p>
<h1>${v.method_id} ${badge(v.status)}</h1>
${outcome ? html`<div class="notice ${outcome.kind}" role="status"><p>${outcome.text}</p>${outcome.result ? json(outcome.result.ok ? { data: outcome.result.data } : { error: outcome.result.error }) : ''}</div>` : ''}
<dl class="meta">
<dt>Id</dt><dd><code>${v.id}</code></dd>
<dt>Bot</dt><dd>${v.bot}</dd><dt>Expert</dt><dd>${v.expert}</dd><dt>Tool</dt><dd>${v.tool}</dd><dt>Method</dt><dd><code>${v.method_id}</code></dd>
<dt>Proposed by</dt><dd>${v.proposed_by}</dd><dt>Proposed at</dt><dd><time datetime="${v.created_at}">${v.created_at}</time></dd>
<dt>Approver</dt><dd>${v.approver === '*' ? 'any person of the tenant' : v.approver}</dd>
<dt>Expires</dt><dd><time datetime="${v.expires_at}">${v.expires_at}</time></dd>
${v.decided_by ? html`<dt>Decided by</dt><dd>${v.decided_by}</dd>` : ''}${v.reason ? html`<dt>Reason</dt><dd>${v.reason}</dd>` : ''}
<dt>Bundle</dt><dd><code>${v.bundle_digest || 'unknown'}</code></dd>
</dl>
<h2>The request</h2>
${preview ? renderPreview(v, preview) : html`<p>The parameters the model proposed:</p>${json(v.call['params'] ?? v.call)}`}
${v.status === 'pending' ? html`<h2>Decide</h2>
<div class="actions">
<form method="post" action="/confirmations/${v.id}/approve" data-confirm="Send this request now?">${csrfField(session)}<button class="primary" type="submit">Approve and send</button></form>
<form method="post" action="/confirmations/${v.id}/reject">${csrfField(session)}<label for="reason">Reason for rejecting</label><textarea id="reason" name="reason" rows="2" cols="40" maxlength="500"></textarea> <button class="danger" type="submit">Reject</button></form>
</div>` : ''}`), status);
  };

  /** The exact request the write would send, from a dry run of the recorded bundle; cached per confirmation. */
  const previewOf = async (v: ConfirmationView): Promise<IntegrationResult | undefined> => {
    const cached = previews.get(v.id);
    if (cached) return cached;
    if (!v.bundle_path) return undefined;
    try {
      const runtime = await options.runtimeFor(v.bundle_path, keepOpen(store), v.tenant);
      try {
        const args: Record<string, unknown> = { method_id: v.method_id, params: v.call['params'] ?? {}, dry_run: true };
        const result = await runtime.callTool({ expert: v.expert, tool: v.tool, op: 'call', tenant: v.tenant, args });
        if (result.ok) previews.set(v.id, result);
        return result;
      } finally {
        await runtime.close();
      }
    } catch {
      return undefined;
    }
  };

  app.get('/confirmations/:id', (c) => confirmationPage(c, c.req.param('id')));
  app.post('/confirmations/:id/approve', async (c) => {
    const session = c.get('session');
    const outcome = await decideConfirmation(store, options.runtimeFor, { tenant: session.tenant, id: c.req.param('id'), person: session.name, decision: 'approve' });
    if (!outcome.ok && outcome.status === 404) return notFound(c, session);
    return outcome.ok
      ? confirmationPage(c, c.req.param('id'), { kind: 'ok', text: 'Approved and sent.', result: outcome.result })
      : confirmationPage(c, c.req.param('id'), { kind: 'bad', text: `Not sent: ${outcome.message}`, result: outcome.result ?? null }, 409);
  });
  app.post('/confirmations/:id/reject', async (c) => {
    const session = c.get('session');
    const form = await c.req.parseBody();
    const outcome = await decideConfirmation(store, options.runtimeFor, { tenant: session.tenant, id: c.req.param('id'), person: session.name, decision: 'reject', reason: str(form['reason']) });
    if (!outcome.ok && outcome.status === 404) return notFound(c, session);
    return outcome.ok
      ? confirmationPage(c, c.req.param('id'), { kind: 'ok', text: 'Rejected: it will never be sent.' })
      : confirmationPage(c, c.req.param('id'), { kind: 'bad', text: `Not rejected: ${outcome.message}` }, 409);
  });

  // ---- Review queue ----
  const reviewsPage = async (c: Context<Env>, message?: { kind: 'ok' | 'bad'; text: string }) => {
    const session = c.get('session');
    const items = await store.listReviews({ tenant: session.tenant });
    const batches = new Map<string, ReviewItem[]>();
    for (const item of items) batches.set(item.batch_id, [...(batches.get(item.batch_id) ?? []), item]);
    const ordered = [...batches.entries()].sort(([, a], [, b]) => Number(b.some((i) => i.status === 'pending')) - Number(a.some((i) => i.status === 'pending')) || (b[0]?.created_at ?? 0) - (a[0]?.created_at ?? 0));
    return c.html(page('Review queue', session, '/reviews', html`<h1>Review queue</h1>
<p>Imported records stay untrusted until a person approves them.</p>
${message ? notice(message.kind, message.text) : ''}
${ordered.length === 0 ? html`<p>No imported records in tenant ${session.tenant}.</p>` : ordered.map(([batch, records]) => html`<section class="card" aria-labelledby="b-${batch}">
<h2 id="b-${batch}">Batch <code>${batch}</code></h2>
<p>${records.length} record(s), ${records.filter((r) => r.status === 'pending').length} pending.</p>
${records.some((r) => r.status === 'pending') ? html`<div class="actions">
<form method="post" action="/reviews/batch/${batch}">${csrfField(session)}<input type="hidden" name="decision" value="approved"><button class="primary" type="submit">Approve all pending in batch</button></form>
<form method="post" action="/reviews/batch/${batch}">${csrfField(session)}<input type="hidden" name="decision" value="rejected"><button class="danger" type="submit">Reject all pending in batch</button></form>
</div>` : ''}
<div class="table-wrap"><table><thead><tr><th scope="col">Status</th><th scope="col">Record</th><th scope="col">Provider / method</th><th scope="col">Decide</th></tr></thead>
<tbody>${records.map((r) => html`<tr><td>${badge(r.status)}</td><td><a href="/reviews/${r.id}">${r.record_key}</a></td><td>${r.provider} / <code>${r.method_id}</code></td>
<td>${r.status === 'pending' ? decideButtons(session, r) : html`${r.decided_by ?? ''}`}</td></tr>`)}</tbody></table></div>
</section>`)}`));
  };
  const decideButtons = (session: Session, r: ReviewItem) => html`<form class="inline" method="post" action="/reviews/${r.id}">${csrfField(session)}<input type="hidden" name="decision" value="approved"><button type="submit" aria-label="Approve ${r.record_key}">Approve</button></form>
<form class="inline" method="post" action="/reviews/${r.id}">${csrfField(session)}<input type="hidden" name="decision" value="rejected"><button class="danger" type="submit" aria-label="Reject ${r.record_key}">Reject</button></form>`;

  const decide = async (session: Session, item: ReviewItem, decision: 'approved' | 'rejected') => {
    const decided = await decideReview(store, { tenant: session.tenant, id: item.id, decision, reviewer: session.name, now: now() });
    if (decided?.status === 'approved') approved.put(session.tenant, decided.provider, decided.record_key, decided.record_json);
    return decided;
  };

  app.get('/reviews', (c) => reviewsPage(c));
  app.get('/reviews/:id', async (c) => {
    const session = c.get('session');
    const item = (await store.listReviews({ tenant: session.tenant })).find((r) => r.id === c.req.param('id'));
    if (!item) return notFound(c, session);
    const previous = approved.get(session.tenant, item.provider, item.record_key);
    const current = pretty(item.record_json);
    return c.html(page(`Record ${item.record_key}`, session, '/reviews', html`<p><a href="/reviews">← Review queue</a></p>
<h1>Record ${item.record_key} ${badge(item.status)}</h1>
<dl class="meta"><dt>Provider</dt><dd>${item.provider}</dd><dt>Method</dt><dd><code>${item.method_id}</code></dd><dt>Batch</dt><dd><code>${item.batch_id}</code></dd>
<dt>Imported</dt><dd>${new Date(item.created_at).toISOString()}</dd>${item.decided_by ? html`<dt>Decided by</dt><dd>${item.decided_by}</dd>` : ''}</dl>
${item.status === 'pending' ? html`<div class="actions">${decideButtons(session, item)}</div>` : ''}
<h2>Changes since the approved version</h2>
${previous === undefined ? html`<p>No earlier approved version of this record: all of it is new.</p>` : renderDiff(pretty(previous), current)}
<h2>The record</h2><pre><code>${current}</code></pre>`));
  });
  app.post('/reviews/batch/:batch', async (c) => {
    const session = c.get('session');
    const decision = str((await c.req.parseBody())['decision']);
    if (decision !== 'approved' && decision !== 'rejected') return c.text('decision must be approved or rejected\n', 400);
    const pending = await store.listReviews({ tenant: session.tenant, batch_id: c.req.param('batch'), status: 'pending' });
    if (pending.length === 0) return notFound(c, session);
    for (const item of pending) await decide(session, item, decision);
    return reviewsPage(c, { kind: 'ok', text: `${decision === 'approved' ? 'Approved' : 'Rejected'} ${pending.length} record(s).` });
  });
  app.post('/reviews/:id', async (c) => {
    const session = c.get('session');
    const decision = str((await c.req.parseBody())['decision']);
    if (decision !== 'approved' && decision !== 'rejected') return c.text('decision must be approved or rejected\n', 400);
    const item = (await store.listReviews({ tenant: session.tenant })).find((r) => r.id === c.req.param('id'));
    if (!item) return notFound(c, session);
    const decided = await decide(session, item, decision);
    return reviewsPage(c, decided ? { kind: 'ok', text: `${decision === 'approved' ? 'Approved' : 'Rejected'} ${item.record_key}.` } : { kind: 'bad', text: `${item.record_key} was already decided.` });
  });

  // ---- Audit log ----
  app.get('/audit', async (c) => {
    const session = c.get('session');
    const q = (name: string) => (c.req.query(name) ?? '').trim();
    const since = isoTime(q('since'));
    const until = isoTime(q('until'));
    const entries = (await store.listAudit({
      tenant: session.tenant,
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      ...(q('integration') ? { integration: q('integration') } : {}),
      ...(q('outcome') ? { outcome: q('outcome') } : {}),
    })).filter((e) => !q('actor') || e.actor === q('actor') || e.actor === `user:${q('actor')}`);
    const shown = entries.slice(-AUDIT_PAGE).reverse();
    const verdict = await store.verifyAudit(session.tenant);
    const field = (name: string, label: string, type = 'text', hint = '') => html`<div><label for="f-${name}">${label}</label><input id="f-${name}" name="${name}" type="${type}" value="${q(name)}"${hint ? html` placeholder="${hint}"` : ''}></div>`;
    return c.html(page('Audit log', session, '/audit', html`<h1>Audit log</h1>
${verdict.ok
    ? html`<p class="notice ok" role="status">Chain verified: ${verdict.entries} entries, every hash links to the one before.</p>`
    : html`<p class="notice bad" role="alert">Chain broken at entry <a href="/audit/${verdict.seq}">#${verdict.seq}</a>: ${verdict.reason}. Entries from there on cannot be trusted.</p>`}
<form class="filters" method="get" action="/audit" aria-label="Filter the audit log">
${field('since', 'From (UTC)', 'datetime-local')}${field('until', 'Until (UTC)', 'datetime-local')}${field('integration', 'Integration', 'text', 'slack')}${field('outcome', 'Outcome', 'text', 'ok, pending, an error code')}${field('actor', 'Actor', 'text', 'alice or expert:triage')}
<div><button type="submit">Filter</button> <a href="/audit">Clear</a></div>
</form>
<p>${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}${entries.length > AUDIT_PAGE ? html`; the newest ${AUDIT_PAGE} are shown` : ''}.</p>
<div class="table-wrap"><table><thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Action</th><th scope="col">Actor</th><th scope="col">Integration / method</th><th scope="col">Outcome</th></tr></thead>
<tbody>${shown.map((e) => html`<tr><td><a href="/audit/${e.seq}">${e.seq}</a></td><td><time datetime="${e.at}">${e.at}</time></td><td>${e.action}</td><td>${e.actor}</td><td>${e.integration ?? ''}${e.method_id ? html` / <code>${e.method_id}</code>` : ''}</td><td>${e.outcome}</td></tr>`)}</tbody></table></div>`));
  });
  app.get('/audit/:seq', async (c) => {
    const session = c.get('session');
    const seq = Number(c.req.param('seq'));
    const entry: AuditEntry | undefined = Number.isSafeInteger(seq) ? (await store.listAudit({ tenant: session.tenant })).find((e) => e.seq === seq) : undefined;
    if (!entry) return notFound(c, session);
    return c.html(page(`Audit entry ${entry.seq}`, session, '/audit', html`<p><a href="/audit">← Audit log</a></p>
<h1>Audit entry #${entry.seq}</h1>
<dl class="meta"><dt>Time</dt><dd>${entry.at}</dd><dt>Action</dt><dd>${entry.action}</dd><dt>Actor</dt><dd>${entry.actor}</dd>
<dt>Integration</dt><dd>${entry.integration ?? '—'}</dd><dt>Method</dt><dd>${entry.method_id ?? '—'}</dd><dt>Outcome</dt><dd>${entry.outcome}</dd>
<dt>Trace id</dt><dd><code>${entry.trace_id ?? '—'}</code></dd><dt>Previous hash</dt><dd><code>${entry.prev_hash}</code></dd><dt>Hash</dt><dd><code>${entry.hash}</code></dd></dl>
<h2>Detail</h2>${json(entry.detail)}`));
  });

  // ---- Bundles ----
  app.get('/bundles', (c) => {
    const session = c.get('session');
    const bundles = readBundles(options.bundlesDir);
    return c.html(page('Bundles', session, '/bundles', html`<h1>Bundles</h1>
${bundles.length === 0 ? html`<p>No built bundles in <code>${options.bundlesDir}</code>; run <code>botc build</code>.</p>` : html`<ul>${bundles.map((b) => html`<li><a href="/bundles/${b.bot.id}">${b.bot.id}</a> ${b.bot.version}: ${b.bot.description} (${b.experts.length} expert(s), ${b.tools.length} tool(s))</li>`)}</ul>`}`));
  });
  app.get('/bundles/:bot', (c) => {
    const session = c.get('session');
    const bundle = readBundles(options.bundlesDir).find((b) => b.bot.id === c.req.param('bot'));
    if (!bundle) return notFound(c, session);
    return c.html(page(`Bundle ${bundle.bot.id}`, session, '/bundles', renderBundle(bundle)));
  });

  app.notFound((c) => c.text('not found\n', 404));
  return app;

  function notFound(c: Context<Env>, session: Session) {
    return c.html(page('Not found', session, '', html`<h1>Not found</h1><p>Nothing with that name in tenant ${session.tenant}.</p>`), 404);
  }
}

/** A view of the store that a short-lived runtime may close without closing the console's. */
function keepOpen(store: StateStore): StateStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'close') return async () => {};
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** `2026-05-01T10:00` (a datetime-local field, read as UTC) or any ISO time, as ISO 8601; '' when not a time. */
function isoTime(text: string): string {
  if (!text) return '';
  const date = new Date(/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/.test(text) ? `${text}Z` : text);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}

function pretty(recordJson: string): string {
  try {
    return JSON.stringify(JSON.parse(recordJson), null, 2);
  } catch {
    return recordJson;
  }
}

function renderDiff(before: string, after: string): Markup {
  if (before === after) return html`<p>Unchanged since it was approved.</p>`;
  const parts = diffLines(before, after);
  return html`<pre class="diff" aria-label="Lines removed are marked with a minus, lines added with a plus"><code>${parts.map((p) => {
    const sign = p.added ? '+ ' : p.removed ? '- ' : '  ';
    const text = p.value.replace(/\n$/, '').split('\n').map((line) => sign + line).join('\n');
    return p.added ? html`<ins class="add">${text}</ins>` : p.removed ? html`<del class="del">${text}</del>` : html`<span>${text}\n</span>`;
  })}</code></pre>`;
}

/** The preview of a write: method and URL, headers (credentials hidden), body; a Slack message as a message. */
function renderPreview(v: ConfirmationView, preview: IntegrationResult): Markup {
  if (!preview.ok) return html`<p class="notice bad">The request cannot be previewed now: ${preview.error.code}: ${preview.error.message}</p>${json(v.call['params'] ?? v.call)}`;
  const data = preview.data as { request?: { method?: unknown; url?: unknown; headers?: unknown; body?: unknown } } | undefined;
  const request = data?.request;
  const same = previewSha(preview.data) === v.preview_sha256;
  const body = request?.body as Record<string, unknown> | undefined;
  const slack = v.method_id.startsWith('slack.') && body && typeof body['text'] === 'string';
  return html`${same ? html`<p class="notice ok">This is exactly the request that was proposed (same preview hash).</p>` : html`<p class="notice bad" role="alert">The request now differs from the one proposed; approving will be refused.</p>`}
${slack ? html`<figure class="message" aria-label="Slack message"><figcaption class="channel">#${String(body['channel'] ?? '')}</figcaption><p>${String(body['text'])}</p></figure>` : ''}
${request ? html`<p><code>${String(request.method ?? '')} ${String(request.url ?? '')}</code></p>
<div class="table-wrap"><table><caption>Headers</caption><thead><tr><th scope="col">Header</th><th scope="col">Value</th></tr></thead><tbody>${Object.entries(redactHeaders(request.headers)).map(([k, val]) => html`<tr><td><code>${k}</code></td><td><code>${val}</code></td></tr>`)}</tbody></table></div>
<h3>Body</h3>${json(request.body ?? null)}` : json(preview.data)}`;
}

function renderBundle(bundle: Bundle): Markup {
  return html`<p><a href="/bundles">← Bundles</a></p>
<h1>${bundle.bot.id} <small>${bundle.bot.version}</small></h1>
<p>${bundle.bot.description}</p>
<p>Digest <code>${bundle.digest}</code></p>
<h2>Experts</h2>
${bundle.experts.map((e) => html`<section class="card" aria-labelledby="x-${e.name}"><h3 id="x-${e.name}">${e.name}</h3><p>${e.description}</p>
<p>Tools: ${e.tools.join(', ') || 'none'}</p>
<details><summary>System prompt (${e.blocks.length} blocks)</summary>${promptBlocks(e.system_prompt, e.blocks)}</details></section>`)}
<h2>Tools</h2>
${bundle.tools.map((t) => html`<section class="card" aria-labelledby="t-${t.name}"><h3 id="t-${t.name}">${t.name}</h3><p>${t.description}</p>
<details><summary>Parameters schema</summary>${json(t.parameters)}</details>
<div class="table-wrap"><table><thead><tr><th scope="col">Method</th><th scope="col">Classification</th><th scope="col">Capabilities</th><th scope="col">Schemas</th></tr></thead><tbody>
${t.methods.map((m) => {
    const spec = bundle.methods[m];
    const integration = spec ? bundle.integrations[spec.provider] : undefined;
    return html`<tr><td><code>${m}</code><br>${spec?.description ?? ''}</td><td>${integration?.classification ?? ''}</td><td>${spec?.capabilities.join(', ') ?? ''}</td>
<td>${spec ? html`<details><summary>Input</summary>${json(spec.input_schema)}</details><details><summary>Output</summary>${json(spec.output_schema)}</details>` : ''}</td></tr>`;
  })}</tbody></table></div></section>`)}`;
}

/** The system prompt cut at its blocks (offsets in code points), each labelled with its kind and source file. */
function promptBlocks(prompt: string, blocks: Bundle['experts'][number]['blocks']): Markup {
  const points = [...prompt];
  let at = 0;
  const parts: Markup[] = [];
  for (const block of [...blocks].sort((a, b) => a.start - b.start)) {
    if (block.start > at) parts.push(html`<pre><code>${points.slice(at, block.start).join('')}</code></pre>`);
    parts.push(html`<div class="block block-${block.kind}"><p class="block-label">${block.kind} · <code>${block.source}</code> · code points ${block.start}–${block.end}</p><pre><code>${points.slice(block.start, block.end).join('')}</code></pre></div>`);
    at = Math.max(at, block.end);
  }
  if (at < points.length) parts.push(html`<pre><code>${points.slice(at).join('')}</code></pre>`);
  return html`${parts}`;
}

function readBundles(dir: string): Bundle[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.bundle.json')).sort();
  } catch {
    return [];
  }
  const out: Bundle[] = [];
  for (const name of names) {
    try {
      out.push(readBundle(path.join(dir, name)));
    } catch {
      // A file that is not a readable bundle is not shown.
    }
  }
  return out;
}

