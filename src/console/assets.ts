/**
 * The console's stylesheet and its one small script, served as files from /assets/ so that the
 * Content-Security-Policy can forbid inline scripts and styles. The pages work without the
 * script; it only asks before a form that sends or rejects something is submitted.
 */
export const CONSOLE_JS = `'use strict';
document.addEventListener('submit', function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  var question = form.getAttribute('data-confirm');
  if (question && !window.confirm(question)) event.preventDefault();
});
document.querySelectorAll('[data-autofocus]').forEach(function (el) { el.focus(); });
`;

export const CONSOLE_CSS = `:root{color-scheme:light;--fg:#1b1f24;--muted:#4d5561;--line:#c9d1d9;--accent:#0b57d0;--ok:#116329;--bad:#a40e26;--bg:#fff;--soft:#f4f6f8}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,summary:focus-visible{outline:3px solid #f5a623;outline-offset:2px}
.skip{position:absolute;left:-9999px}.skip:focus{left:8px;top:8px;background:#fff;padding:8px;z-index:2}
header{display:flex;flex-wrap:wrap;gap:8px 24px;align-items:center;padding:12px 24px;border-bottom:1px solid var(--line);background:var(--soft)}
header .brand{font-weight:700;margin-right:8px}
nav ul{display:flex;flex-wrap:wrap;gap:4px 16px;list-style:none;margin:0;padding:0}
nav a[aria-current=page]{font-weight:700;text-decoration-thickness:3px}
header .who{margin-left:auto;display:flex;gap:12px;align-items:center;color:var(--muted)}
main{padding:16px 24px;max-width:1200px}
h1{font-size:1.6rem;margin:.2em 0 .6em;overflow-wrap:anywhere}h2{font-size:1.25rem;margin:1.2em 0 .4em}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
.table-wrap{overflow-x:auto}
pre{background:var(--soft);padding:12px;overflow-x:auto;white-space:pre-wrap;word-break:break-word;border:1px solid var(--line)}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.92em;overflow-wrap:anywhere}
.badge{display:inline-block;padding:0 8px;border-radius:10px;border:1px solid currentColor;font-size:.85rem}
.pending{color:#7a4b00}.executed,.approved,.ok{color:var(--ok)}.rejected,.expired,.bad{color:var(--bad)}
.card{border:1px solid var(--line);padding:12px 16px;margin:12px 0;border-radius:6px}
.message{border-left:4px solid #611f69;padding:8px 12px;background:#faf5fb}
.message .channel{font-weight:700;color:#611f69}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px}dl.meta dt{font-weight:600}dl.meta dd{margin:0;word-break:break-word}
form.inline{display:inline}
.actions form{max-width:100%}.actions textarea{display:block;width:32em;max-width:100%;margin-bottom:8px}
.actions{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-end;margin:12px 0}
label{display:block;font-weight:600;margin-bottom:2px}
input,select,textarea{font:inherit;padding:6px 8px;border:1px solid #6e7781;border-radius:4px;max-width:100%}
button{font:inherit;padding:6px 14px;border-radius:4px;border:1px solid #1f2328;background:#fff;cursor:pointer}
button.primary{background:var(--accent);color:#fff;border-color:var(--accent)}
button.danger{background:#fff;color:var(--bad);border-color:var(--bad)}
.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-end}
.notice{padding:10px 14px;border:1px solid var(--line);background:var(--soft);margin:12px 0}
.notice.bad{border-color:var(--bad);background:#fff5f5}.notice.ok{border-color:var(--ok);background:#f3fbf5}
.diff .add{background:#e6ffec;display:block}.diff .del{background:#ffebe9;display:block}
.block{border-left:4px solid var(--line);margin:8px 0;padding:4px 12px}
.block-personality{border-color:#8250df}.block-expert{border-color:#0b57d0}.block-skill{border-color:#116329}.block-tool{border-color:#9a6700}.block-common{border-color:#57606a}
.block-label{font-size:.85rem;color:var(--muted)}
.login{max-width:420px;margin:48px auto}.login div{margin-bottom:12px}.login input{width:100%}
@media (max-width:640px){header{padding:8px 12px}main{padding:12px}header .who{margin-left:0}th,td{padding:4px}}
`;
