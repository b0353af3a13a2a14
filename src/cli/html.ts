/**
 * `stores check --html FILE`: one self-contained page picturing a fleet — a grid of data dirs by
 * stores coloured by status, the counts, filters by status and by version, and the reason for
 * every store that needs attention. No network: styles, script and data are inline; every
 * value from the report is inserted as text, never as markup.
 */
import type { Report } from '../report.js';

/** JSON safe to embed in a <script> element. */
function embed(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const STYLE = `
:root { --missing:#9aa5b1; --empty:#b8c2cc; --current:#2f9e44; --behind:#f59f00; --legacy:#e67700;
  --too-new:#c92a2a; --too-old:#a61e4d; --drift:#862e9c; --conflict:#5f3dc4; --foreign:#364fc7;
  --corrupt:#000; --locked:#1864ab; --error:#e03131; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #212529; }
h1 { font-size: 20px; margin: 0 0 4px; }
.meta { color: #495057; margin-bottom: 16px; }
.counts { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 12px; }
.count { border-radius: 4px; padding: 4px 10px; color: #fff; cursor: pointer; user-select: none; border: 2px solid transparent; }
.count[aria-pressed="false"] { opacity: .35; }
.filters { display: flex; gap: 16px; align-items: center; margin-bottom: 12px; }
table.grid { border-collapse: collapse; }
.grid th, .grid td { padding: 2px 6px; text-align: left; }
.grid th { position: sticky; top: 0; background: #fff; }
.grid td.dir { font-family: ui-monospace, monospace; font-size: 12px; white-space: nowrap; }
.cell { display: inline-block; min-width: 72px; padding: 1px 6px; border-radius: 3px; color: #fff; font-size: 12px; }
.attention li { margin-bottom: 6px; }
.attention code { font-size: 12px; }
`;

const SCRIPT = `
const data = JSON.parse(document.getElementById('report').textContent);
const stores = data.registry.map(r => r.name);
const statuses = Object.keys(data.summary.byStatus);
const shown = new Set(statuses);
let versionFilter = '';
const el = (tag, attrs, text) => { const e = document.createElement(tag); for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v); if (text !== undefined) e.textContent = text; return e; };
const colour = s => 'var(--' + s + ')';
const needsAttention = s => !['current', 'missing', 'empty', 'behind', 'legacy'].includes(s);

function renderCounts() {
  const box = document.getElementById('counts');
  box.replaceChildren();
  for (const s of statuses) {
    const b = el('span', { class: 'count', role: 'button', 'data-status': s, 'aria-pressed': String(shown.has(s)) }, s + ' ' + data.summary.byStatus[s]);
    b.style.background = colour(s);
    b.addEventListener('click', () => { shown.has(s) ? shown.delete(s) : shown.add(s); render(); });
    box.append(b);
  }
}

function renderVersions() {
  const sel = document.getElementById('version');
  const versions = new Set();
  for (const d of data.dirs) for (const s of d.stores) versions.add(s.version === null ? 'none' : 'v' + s.version);
  for (const v of [...versions].sort()) sel.append(el('option', { value: v }, v));
  sel.addEventListener('change', () => { versionFilter = sel.value; render(); });
}

function visible(s) {
  if (!shown.has(s.status)) return false;
  if (versionFilter && (s.version === null ? 'none' : 'v' + s.version) !== versionFilter) return false;
  return true;
}

function render() {
  renderCounts();
  const body = document.getElementById('rows');
  body.replaceChildren();
  let rows = 0;
  for (const d of data.dirs) {
    if (!d.stores.some(visible)) continue;
    const tr = el('tr', { 'data-dir': d.path });
    tr.append(el('td', { class: 'dir' }, d.path));
    for (const name of stores) {
      const s = d.stores.find(x => x.name === name);
      const td = el('td');
      if (s && visible(s)) {
        const c = el('span', { class: 'cell', 'data-status': s.status, title: s.message }, s.status + (s.version === null ? '' : ' v' + s.version));
        c.style.background = colour(s.status);
        td.append(c);
      }
      tr.append(td);
    }
    body.append(tr);
    rows++;
  }
  document.getElementById('shown').textContent = String(rows);
  const list = document.getElementById('attention');
  list.replaceChildren();
  for (const d of data.dirs) for (const s of d.stores) {
    if (!needsAttention(s.status) || !visible(s)) continue;
    const li = el('li', { 'data-status': s.status });
    li.append(el('code', {}, s.file), document.createTextNode(' — '), el('strong', {}, s.status), document.createTextNode(': ' + s.message));
    list.append(li);
  }
}

const head = document.getElementById('head');
for (const name of stores) head.append(el('th', {}, name));
renderVersions();
render();
`;

/** The whole page for a check report. `generated` is shown as the report's date. */
export function renderHtml(report: Report, generated: Date): string {
  const { summary } = report;
  const title = `stores check — ${summary.stores} stores in ${summary.dirs} data dirs`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeText(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeText(title)}</h1>
<div class="meta">Generated ${escapeText(generated.toISOString())} · registry: ${escapeText(report.registry.map((r) => `${r.name} v${r.version}`).join(', '))} · <span id="shown"></span> data dirs shown</div>
<div class="counts" id="counts"></div>
<div class="filters"><label>Version <select id="version"><option value="">all</option></select></label><span>Click a status to hide or show it.</span></div>
<table class="grid"><thead><tr id="head"><th>data dir</th></tr></thead><tbody id="rows"></tbody></table>
<h2>Needs attention</h2>
<ul class="attention" id="attention"></ul>
<script type="application/json" id="report">${embed(report)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
