/**
 * `stores generate STORE`: writes the next migration from the edited schema.sql (src/generate.ts)
 * and prints it. Exit 0 written or nothing to do; 3 a dry run with a migration to write, or a
 * skeleton written that must be completed; 4 refused (nothing written); 2 usage or registry error.
 */
import path from 'node:path';
import { UsageError } from '../errors.js';
import { generateMigration, type GenerateResult } from '../generate.js';
import { paint, type Style } from './render.js';
import { EXIT, type Args, type CliIO } from './common.js';

function render(r: GenerateResult, cwd: string, style: Style): string {
  const rel = (f: string) => path.relative(cwd, f) || f;
  const lines: string[] = [];
  const head = paint(style, 'bold', r.store);
  switch (r.action) {
    case 'unchanged':
      lines.push(`${head}: schema.sql is what v${r.from} stands for; nothing to do`);
      break;
    case 'refused':
      lines.push(`${head}: ${paint(style, 'red', 'refused')}, nothing written:`);
      for (const x of r.refusals) lines.push(`  - ${x.what}: ${x.why}`, `    instead: ${x.instead}`);
      break;
    case 'planned':
    case 'written':
    case 'skeleton': {
      const verb = r.action === 'planned' ? 'would write' : 'wrote';
      lines.push(`${head}: v${r.from} → v${r.to}: ${verb} ${rel(r.file!)}${r.action === 'planned' ? '' : ` and set version ${r.to} in store.json`}`);
      if (r.verify) lines.push(`  ${paint(style, 'green', '✓')} verify: ${r.verify.length} checks passed`);
      lines.push('', r.sql!.trimEnd(), '');
      if (r.action === 'skeleton') {
        lines.push(`${paint(style, 'yellow', 'to complete')}: a data move is not something generate guesses:`);
        for (const x of r.refusals) lines.push(`  - ${x.why}`, `    ${x.instead}`);
      } else if (r.action === 'written') lines.push('Read the migration, run your tests, commit schema.sql, store.json and the migration together.');
    }
  }
  for (const n of r.notes) lines.push(`${paint(style, 'gray', 'note')}: ${n}`);
  return lines.join('\n') + '\n';
}

export async function runGenerate(args: Args, io: CliIO, registryPath: string, style: Style): Promise<number> {
  const name = args.store;
  if (!name) throw new UsageError('name the store to generate a migration for (e.g. stores generate objects)');
  if (args.destructive !== undefined && String(args.destructive).trim() === '') throw new UsageError('--destructive takes a sentence saying why the data may go, e.g. --destructive "legacy_code is read by nothing since 1.3"');
  const result = await generateMigration(registryPath, name, {
    ...(args.name !== undefined ? { name: String(args.name) } : {}),
    ...(args.destructive !== undefined ? { destructive: String(args.destructive) } : {}),
    dryRun: args['dry-run'] === true,
    now: new Date(),
  });
  if (args.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  else io.stdout(render(result, io.cwd, style));
  switch (result.action) {
    case 'written':
    case 'unchanged':
      return EXIT.ok;
    case 'planned':
    case 'skeleton':
      return EXIT.pending;
    case 'refused':
      return EXIT.refused;
  }
}
