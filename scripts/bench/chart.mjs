/**
 * The chart: one bar per comparison, its length the ratio, the target marked; hand-written SVG.
 * Rows without a ratio (a tool that cannot run a workload) are listed with their note.
 */
export function svg(result) {
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const rows = result.rows;
  const W = 1240;
  const labelW = 620;
  const barX = labelW + 12;
  const valueW = 250;
  const barW = W - barX - valueW - 16;
  const rowH = 24;
  const top = 108;
  const H = top + rows.length * rowH + 74;
  const ratios = rows.filter((r) => r.ratio !== null);
  const maxRatio = Math.max(2, ...ratios.map((r) => r.ratio), ...rows.map((r) => r.target ?? 0));
  const scale = Math.min(4, Math.ceil(maxRatio * 2) / 2);
  const x = (ratio) => barX + (Math.min(ratio, scale) / scale) * barW;
  const fmt = (v, unit) => (unit === 's' ? `${v.toFixed(2)} s` : unit === 'MB' ? `${v.toFixed(0)} MB` : unit === 'µs' ? `${v.toFixed(0)} µs` : String(v));
  const m = result.machine;
  const v = result.versions;
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<defs><clipPath id="labels"><rect x="0" y="0" width="${barX - 6}" height="${H}"/></clipPath></defs>`);
  parts.push(`<text x="16" y="26" font-size="16" font-weight="600" fill="#111">stores benchmark${result.quick ? ' (quick run)' : ''}: each figure as a ratio to its baseline, lower is better</text>`);
  parts.push(`<text x="16" y="46" fill="#444">${esc(result.date.slice(0, 16).replace('T', ' '))} UTC · ${esc(m.cpu)} · ${m.cores} cores · ${m.memGiB} GiB · Node ${esc(m.node)} · ${esc(m.os)}</text>`);
  parts.push(
    `<text x="16" y="64" fill="#444">better-sqlite3 ${esc(v['better-sqlite3'])} (SQLite ${esc(v.sqlite)}) · kysely ${esc(v.kysely)} · umzug ${esc(v.umzug)} · drizzle-orm ${esc(v['drizzle-orm'] ?? '?')} · medians, each against a baseline measured in the same run</text>`,
  );
  if (result.otherLoad) {
    const busy = result.otherLoad.median > 0.25;
    parts.push(`<text x="16" y="82" fill="${busy ? '#c62828' : '#444'}">other processes kept ${result.otherLoad.median.toFixed(2)} cores busy during the runs (median)${busy ? ': a busy machine, noisy figures' : ''}</text>`);
  }
  for (let g = 0; g <= scale + 1e-9; g += 0.5) {
    const gx = x(g);
    parts.push(`<line x1="${gx.toFixed(1)}" y1="${top - 6}" x2="${gx.toFixed(1)}" y2="${top + rows.length * rowH}" stroke="${g === 1 ? '#9a9a9a' : '#e6e6e6'}" stroke-width="1"/>`);
    parts.push(`<text x="${gx.toFixed(1)}" y="${top - 10}" text-anchor="middle" fill="#666" font-size="11">${g.toFixed(1)}×</text>`);
  }
  parts.push(`<text x="${W - 16}" y="${top - 10}" text-anchor="end" fill="#666" font-size="11">ratio (median vs baseline median)</text>`);
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const colour = r.met === null || r.met === undefined ? '#8a8a8a' : r.met ? '#2e7d32' : '#c62828';
    if (i % 2 === 0) parts.push(`<rect x="8" y="${y}" width="${W - 16}" height="${rowH}" fill="#f6f6f6"/>`);
    const busy = r.otherLoad !== null && r.otherLoad !== undefined && r.otherLoad > 0.25 ? '  ⚠ busy' : '';
    const born = r.born && r.born.mismatch ? `  files ${r.workload.startsWith('create') ? 'born' : 'left'} ${r.born.mode}, declared ${r.declared}` : '';
    const journal = r.journal ? ` [${r.journal}]` : '';
    parts.push(
      `<text x="16" y="${y + 16}" fill="#111" clip-path="url(#labels)"><tspan font-weight="600">${esc(r.workload)}${esc(journal)}</tspan><tspan fill="#555"> · ${esc(r.tool)} vs ${esc(r.baseline)}</tspan>` +
        `<tspan fill="#c62828" font-size="11">${esc(born)}${busy}</tspan></text>`,
    );
    if (r.ratio === null) {
      parts.push(`<text x="${barX}" y="${y + 16}" fill="#8a8a8a" font-size="11">${esc(r.note ?? 'not measured')}</text>`);
      return;
    }
    parts.push(`<rect x="${barX}" y="${y + 6}" width="${Math.max(1, x(r.ratio) - barX).toFixed(1)}" height="${rowH - 12}" fill="${colour}" rx="2"/>`);
    if (r.ratio > scale) parts.push(`<text x="${(x(scale) - 4).toFixed(1)}" y="${y + 16}" text-anchor="end" fill="#fff" font-size="11">▶</text>`);
    if (r.target !== null) {
      const tx = x(r.target);
      parts.push(`<line x1="${tx.toFixed(1)}" y1="${y + 2}" x2="${tx.toFixed(1)}" y2="${y + rowH - 2}" stroke="#111" stroke-width="2" stroke-dasharray="3,2"/>`);
    }
    const target = r.target === null ? '' : ` (${r.targetKind === '<' ? '<' : '≤'} ${r.target.toFixed(2)})`;
    parts.push(`<text x="${W - 16}" y="${y + 16}" text-anchor="end" fill="${colour}"><tspan font-weight="600">${r.ratio.toFixed(2)}×</tspan><tspan fill="#555"> ${esc(fmt(r.value, r.unit))} vs ${esc(fmt(r.baselineValue, r.unit))}${esc(target)}</tspan></text>`);
  });
  const ly = top + rows.length * rowH + 24;
  parts.push(`<rect x="16" y="${ly - 10}" width="12" height="12" fill="#2e7d32"/><text x="34" y="${ly}" fill="#333">target met</text>`);
  parts.push(`<rect x="120" y="${ly - 10}" width="12" height="12" fill="#c62828"/><text x="138" y="${ly}" fill="#333">target not met</text>`);
  parts.push(`<rect x="248" y="${ly - 10}" width="12" height="12" fill="#8a8a8a"/><text x="266" y="${ly}" fill="#333">no target</text>`);
  parts.push(`<line x1="350" y1="${ly - 10}" x2="350" y2="${ly + 2}" stroke="#111" stroke-width="2" stroke-dasharray="3,2"/><text x="358" y="${ly}" fill="#333">target</text>`);
  parts.push(
    `<text x="16" y="${ly + 22}" fill="#666" font-size="11">[rollback] fleets: files and store declarations in journal_mode DELETE; [WAL]: in WAL. "library": time inside the process around the call, against the raw baseline's own; otherwise whole processes. stores: one worker thread per core unless noted.</text>`,
  );
  parts.push(`<text x="16" y="${ly + 38}" fill="#666" font-size="11">scripts/bench-fleet.mjs${result.quick ? ' (BENCH_QUICK)' : ''}${result.partial ? ` (selection: ${esc(result.workloadIds.join(','))}; ${esc(result.journalModes.join(','))}; peers ${esc(result.peers.join(',') || 'none')})` : ''}, ${result.durationS} s; figures in scripts/bench-results${result.quick ? '.quick' : result.partial ? '.partial' : ''}.json</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
