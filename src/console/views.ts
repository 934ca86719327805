import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { Session } from './sessions.ts';

/** What `html` returns: escaped markup, possibly still being assembled. */
export type Markup = HtmlEscapedString | Promise<HtmlEscapedString>;

const PAGES = [
  ['/confirmations', 'Confirmations'],
  ['/reviews', 'Review queue'],
  ['/audit', 'Audit log'],
  ['/bundles', 'Bundles'],
] as const;

/** A whole page: skip link, navigation, the signed-in person and a sign-out form. */
export function page(title: string, session: Session | undefined, current: string, body: Markup): Markup {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · botc console</title>
<link rel="stylesheet" href="/assets/console.css">
<script src="/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
<span class="brand">botc console</span>
${session
    ? html`<nav aria-label="Main"><ul>${PAGES.map(([href, label]) => html`<li><a href="${href}"${current === href ? raw(' aria-current="page"') : ''}>${label}</a></li>`)}</ul></nav>
<div class="who"><span>${session.name} · tenant <strong>${session.tenant}</strong></span>
<form class="inline" method="post" action="/logout"><input type="hidden" name="_csrf" value="${session.csrf}"><button type="submit">Sign out</button></form></div>`
    : ''}
</header>
<main id="main" tabindex="-1">
${body}
</main>
</body>
</html>`;
}

/** A hidden CSRF field for a form of this session. */
export function csrfField(session: Session): Markup {
  return html`<input type="hidden" name="_csrf" value="${session.csrf}">`;
}

export function badge(status: string): Markup {
  return html`<span class="badge ${/^[a-z_]+$/.test(status) ? status : ''}">${status}</span>`;
}

export function notice(kind: 'ok' | 'bad' | '', text: string | undefined): Markup {
  return text ? html`<p class="notice ${kind}" role="status">${text}</p>` : html``;
}

/** Pretty JSON inside a <pre>, escaped. */
export function json(value: unknown): Markup {
  return html`<pre><code>${JSON.stringify(value, null, 2) ?? 'undefined'}</code></pre>`;
}

/** Header names whose values are credentials and never shown. */
const SECRET_HEADER = /authorization|cookie|token|secret|api[-_]?key|signature|password/i;

/** Request headers with every credential replaced, whatever the integration already hid. */
export function redactHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof headers !== 'object' || headers === null) return out;
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    out[name] = SECRET_HEADER.test(name) ? '[redacted]' : String(value);
  }
  return out;
}
