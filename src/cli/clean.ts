/**
 * `stores clean`: validates the flags, finds the data dirs, cleans each (see src/clean.ts) and
 * prints what was removed, kept and skipped.
 */
import path from 'node:path';
import { UsageError } from '../errors.js';
import { cleanDir, parseDuration, type CleanDirReport, type CleanOptions } from '../clean.js';
import { listDirs } from '../fleet/run.js';
import { paint, type Style } from './render.js';
import { EXIT, isDir, loadForCli, values, type Args, type CliIO } from './common.js';

function cleanOptions(args: Args): CleanOptions {
  const keep = args.keep;
  if (keep !== undefined && (!Number.isInteger(keep) || keep < 0)) throw new UsageError(`--keep takes a whole number ≥ 0, got ${keep}`);
  const text = args['older-than'];
  const olderThanMs = text === undefined ? undefined : parseDuration(text);
  if (olderThanMs === null) throw new UsageError(`--older-than takes a duration such as 7d, 12h, 30m, 45s or 2w, got ${text}`);
  return { keep, olderThanMs, dryRun: args['dry-run'] === true };
}

function bytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function render(reports: readonly CleanDirReport[], dryRun: boolean, style: Style): string {
  const lines: string[] = [];
  const verb = dryRun ? 'would remove' : 'removed';
  for (const r of reports) {
    if (r.busy) {
      lines.push(`${paint(style, 'bold', r.path)}: ${paint(style, 'red', 'skipped')}, nothing removed: ${r.busy}`);
      continue;
    }
    if (r.removed.length === 0 && r.kept.length === 0) {
      lines.push(`${paint(style, 'bold', r.path)}: nothing to clean`);
      continue;
    }
    lines.push(paint(style, 'bold', r.path));
    for (const e of r.removed) lines.push(`  ${paint(style, 'yellow', verb)} ${path.basename(e.file)} (${bytes(e.bytes)}): ${e.reason}`);
    for (const e of r.kept) lines.push(`  ${paint(style, 'gray', 'kept')} ${path.basename(e.file)}: ${e.reason}`);
  }
  const n = reports.reduce((a, r) => a + r.removed.length, 0);
  const total = reports.reduce((a, r) => a + r.removed.reduce((b, e) => b + e.bytes, 0), 0);
  const busy = reports.filter((r) => r.busy).length;
  lines.push(
    '',
    `${reports.length} data dir${reports.length === 1 ? '' : 's'}: ${verb} ${n} file${n === 1 ? '' : 's'} (${bytes(total)})` +
      (busy > 0 ? `; ${busy} skipped because another process was at work (run clean again later)` : ''),
  );
  return lines.join('\n') + '\n';
}

/** Exit 4 when a dir was skipped as busy, 3 when a dry run found something to remove, else 0. */
export async function runClean(args: Args, io: CliIO, registryPath: string, style: Style): Promise<number> {
  const options = cleanOptions(args);
  const dirs = (args.dirs ?? []).map((d) => path.resolve(io.cwd, d));
  const roots = values(args.root).map((r) => path.resolve(io.cwd, r));
  if (dirs.length === 0 && roots.length === 0) throw new UsageError('name at least one data dir or --root (e.g. stores clean --root data)');
  for (const r of roots) if (!isDir(r)) throw new UsageError(`--root ${r}: no such directory`);
  for (const d of dirs) if (!isDir(d)) throw new UsageError(`${d}: no such data dir`);
  const registry = await loadForCli(registryPath);
  const list = listDirs(registry, dirs, roots, (p) => {
    if (!args.json) io.stderr(`stores: skipped ${p.path}: ${p.message}\n`);
  });
  const reports = list.map((d) => cleanDir(registry, d, options));
  const removed = reports.reduce((a, r) => a + r.removed.length, 0);
  if (args.json) {
    const summary = { dirs: reports.length, removed, bytes: reports.reduce((a, r) => a + r.removed.reduce((b, e) => b + e.bytes, 0), 0), busy: reports.filter((r) => r.busy).length };
    io.stdout(`${JSON.stringify({ dryRun: options.dryRun === true, dirs: reports, summary }, null, 2)}\n`);
  } else io.stdout(render(reports, options.dryRun === true, style));
  if (reports.some((r) => r.busy)) return EXIT.refused;
  return options.dryRun && removed > 0 ? EXIT.pending : EXIT.ok;
}
