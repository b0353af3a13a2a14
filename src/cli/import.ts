/**
 * `stores import FROM`: validates the flags, calls the library's `importStore` and prints what
 * was written (or, with --json, the same as one JSON document).
 */
import path from 'node:path';
import { UsageError } from '../errors.js';
import { importStore, type ImportResult } from '../import/index.js';
import { paint, type Style } from './render.js';
import { EXIT, type Args, type CliIO } from './common.js';

function render(r: ImportResult, style: Style, cwd: string): string {
  const rel = (p: string) => path.relative(cwd, p) || '.';
  const lines = [`imported ${paint(style, 'bold', r.store)} (${r.file}, version ${r.version}, minVersion ${r.minVersion}) from ${rel(r.from)} into ${rel(r.dir)}`];
  for (const v of r.versions) {
    lines.push(`  ${v.from} → v${v.version}${v.file ? ` (${v.file})` : ''}${v.destructive ? paint(style, 'yellow', ` — destructive: ${v.destructive}`) : ''}`);
  }
  if (r.history.length > 0) lines.push(`  legacy.history: ${r.history.map((h) => JSON.stringify(h)).join(', ')}`);
  for (const n of r.notes) lines.push(`  ${paint(style, 'gray', 'note')} ${n}`);
  for (const w of r.warnings) lines.push(`  ${paint(style, 'yellow', 'warning')} ${w}`);
  lines.push(`  wrote ${r.files.map((f) => path.relative(r.dir, f)).join(', ')}`);
  lines.push('  `stores verify` passes on it (proven in memory before writing)');
  return lines.join('\n') + '\n';
}

export function runImport(args: Args, io: CliIO, registryPath: string, style: Style): number {
  const from = args.from;
  if (!from) throw new UsageError('name what to import: a folder of numbered SQL files, a drizzle-kit migrations folder, or a database file (e.g. stores import drizzle --store app)');
  if (args['history-column'] !== undefined && args['history-table'] === undefined) throw new UsageError('--history-column goes with --history-table (the table your migration runner records applied files in)');
  const result = importStore(path.resolve(io.cwd, from), registryPath, {
    store: args.store,
    historyTable: args['history-table'],
    historyColumn: args['history-column'],
  });
  if (args.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  else io.stdout(render(result, style, io.cwd));
  return EXIT.ok;
}
