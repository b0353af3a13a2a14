/**
 * The rows (one comparison each, with its target and whether it is met) and the report: the
 * results JSON, the chart and the table on stdout.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { svg } from './chart.mjs';
import { JOURNALS } from './fleet.mjs';
import { PKG } from './registry.mjs';
import { median } from './run.mjs';

/** The list of rows, and the functions that add to it. */
export function createRows() {
  const rows = [];
  /**
   * One comparison. subject/baseline: a number, or a summary (its median, CPU time, load);
   * inner: compare the times the processes measured around their work (library rows).
   */
  const row = (o) => {
    const { subject, baseline, inner = false } = o;
    const pick = (x) => (typeof x === 'number' ? x : inner ? x.inner.median : x.median);
    const value = pick(subject);
    const baselineValue = pick(baseline);
    const loads = [subject, baseline].map((x) => (typeof x === 'number' ? null : x.otherCpu)).filter((x) => x !== null && x !== undefined);
    const ratio = value / baselineValue;
    const target = o.target ?? null;
    const targetKind = o.targetKind ?? '<=';
    const met = target === null ? null : targetKind === '<' ? ratio < target : ratio <= target;
    rows.push({
      workload: o.workload,
      journal: o.mode ? JOURNALS[o.mode].label : null,
      dirs: o.dirs ?? null,
      tool: o.tool,
      timing: inner ? 'in process' : typeof subject === 'number' ? null : 'whole process',
      value,
      unit: o.unit ?? 's',
      perDirMs: o.dirs && (o.unit ?? 's') === 's' ? (value / o.dirs) * 1000 : null,
      baseline: o.baselineName,
      baselineValue,
      ratio,
      target,
      targetKind,
      met,
      cpuS: inner || typeof subject === 'number' ? null : subject.cpuS,
      baselineCpuS: inner || typeof baseline === 'number' ? null : baseline.cpuS,
      otherLoad: loads.length ? Math.max(...loads) : null,
      ...(o.declared ? { declared: o.declared, born: o.born, baselineBorn: o.baselineBorn } : {}),
      ...(o.note ? { note: o.note } : {}),
    });
  };
  const noteRow = (o) => rows.push({ workload: o.workload, journal: JOURNALS[o.mode].label, dirs: o.dirs, tool: o.tool, baseline: o.baselineName, ratio: null, target: null, met: null, note: o.note });
  return { rows, row, noteRow };
}

export function report({ QUICK, partial, started, rows, workloads, boot, modes, peers, only, sqliteVersion }) {
  const cpu = os.cpus();
  const version = (name) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(PKG, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return null;
    }
  };
  const allOther = rows.map((r) => r.otherLoad).filter((x) => x !== null && x !== undefined);
  const machine = { cpu: cpu[0]?.model ?? 'unknown', cores: cpu.length, memGiB: Math.round(os.totalmem() / 2 ** 30), os: `${os.type()} ${os.release()} ${os.arch()}`, node: process.version };
  const result = {
    bench: 'fleet',
    date: new Date().toISOString(),
    quick: QUICK,
    partial,
    durationS: Math.round((Date.now() - started) / 1000),
    machine,
    loadavg: os.loadavg(),
    otherLoad: allOther.length ? { median: +median(allOther).toFixed(3), max: +Math.max(...allOther).toFixed(3), unit: 'cores busy with other processes during the measured runs' } : null,
    versions: {
      stores: JSON.parse(fs.readFileSync(path.join(PKG, 'package.json'), 'utf8')).version,
      'better-sqlite3': version('better-sqlite3'),
      sqlite: sqliteVersion,
      kysely: version('kysely'),
      umzug: version('umzug'),
      'drizzle-orm': version('drizzle-orm'),
    },
    workloadIds: only,
    journalModes: modes,
    peers,
    method:
      'Whole processes spawned one at a time (stdout to /dev/null), variants interleaved in rotated order, `sync` before each run, fleets rebuilt from template files before each write run; value = median wall time; library rows: median of the time each process measured around its work (after start-up and loading); ratio = value ÷ baseline value, both medians of the same run. Rollback fleets: DELETE files, stores declaring DELETE; WAL fleets: WAL files, the shipped registry. Peak RSS from GNU time %M. stores runs with its default concurrency (one worker thread per core) unless noted.',
    rows,
    workloads,
    boot,
  };
  // A quick or partial run never overwrites the full run's files (the ones the README shows).
  const suffix = QUICK ? '.quick' : partial ? '.partial' : '';
  const outJson = path.join(PKG, 'scripts', `bench-results${suffix}.json`);
  const outSvg = path.join(PKG, 'docs', `bench${suffix}.svg`);
  fs.writeFileSync(outJson, `${JSON.stringify(result, null, 2)}\n`);
  fs.mkdirSync(path.dirname(outSvg), { recursive: true });
  fs.writeFileSync(outSvg, svg(result));

  printTable(result, outJson, outSvg);
}

/** The table on stdout: one line per row, met or not, and how many targets were met. */
function printTable(result, outJson, outSvg) {
  const { rows, machine, quick: QUICK } = result;
  const fmt = (v, unit) => (unit === 's' ? `${v.toFixed(3)} s` : unit === 'MB' ? `${v.toFixed(0)} MB` : unit === 'µs' ? `${v.toFixed(0)} µs` : String(v));
  const table = [['workload', 'journal', 'tool', 'timing', 'median', 'ms/dir', 'baseline', 'baseline median', 'ratio', 'target', 'met?', 'files after (declared)', 'cpu s (tool / baseline)', 'other load', 'note']];
  for (const r of rows) {
    if (r.ratio === null) {
      table.push([r.workload, r.journal ?? '', r.tool, '', '', '', r.baseline, '', '—', '—', '—', '', '', '', r.note]);
      continue;
    }
    const born = r.born ? `${r.born.mode}${r.born.mismatch ? ' MISMATCH' : ''} (${r.declared})${r.baselineBorn ? `; baseline ${r.baselineBorn.mode}` : ''}` : '';
    table.push([
      r.workload,
      r.journal ?? '',
      r.tool,
      r.timing ?? '',
      fmt(r.value, r.unit),
      r.perDirMs === null || r.perDirMs === undefined ? '' : r.perDirMs.toFixed(2),
      r.baseline,
      fmt(r.baselineValue, r.unit),
      `${r.ratio.toFixed(2)}×`,
      r.target === null ? '—' : `${r.targetKind === '<' ? '<' : '≤'} ${r.target.toFixed(2)}×`,
      r.met === null ? '—' : r.met ? 'met' : 'NOT MET',
      born,
      r.cpuS === null || r.cpuS === undefined ? '' : `${r.cpuS.toFixed(2)} / ${r.baselineCpuS.toFixed(2)}`,
      r.otherLoad === null || r.otherLoad === undefined ? '' : `${r.otherLoad.toFixed(2)}${r.otherLoad > 0.25 ? ' busy' : ''}`,
      r.note ?? '',
    ]);
  }
  const widths = table[0].map((_, i) => Math.max(...table.map((t) => t[i].length)));
  const right = new Set([4, 5, 7, 8]);
  const line = (t) => t.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const v = result.versions;
  const out = [
    `stores fleet bench — ${result.date}${QUICK ? ' (BENCH_QUICK)' : ''}`,
    `${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, ${machine.os}, Node ${machine.node}; better-sqlite3 ${v['better-sqlite3']} (SQLite ${v.sqlite}), kysely ${v.kysely}, umzug ${v.umzug}, drizzle-orm ${v['drizzle-orm']}`,
    'medians; "whole process": wall time of the process; "in process": the time the process measured around the call, against the baseline process\'s own;' +
      ' ratio = median ÷ baseline median (same run); cpu s = median user+sys of the process, all threads;' +
      ' other load = cores kept busy by other processes during those runs (median; "busy" above 0.25: that row is noisy)' +
      (result.otherLoad ? `; other processes kept ${result.otherLoad.median.toFixed(2)} cores busy during the runs (median; max ${result.otherLoad.max.toFixed(2)})` : ''),
    ...(result.otherLoad && result.otherLoad.median > 0.25 ? ['WARNING: the machine was busy with other work during this run; the figures are noisy — run again on a quiet machine'] : []),
    '',
    line(table[0]),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...table.slice(1).map(line),
    '',
    `${rows.filter((r) => r.met === true).length} of ${rows.filter((r) => r.met !== null && r.met !== undefined).length} targets met; ${path.relative(PKG, outJson)}, ${path.relative(PKG, outSvg)}; ${result.durationS} s`,
  ];
  process.stdout.write(out.join('\n') + '\n');
}
