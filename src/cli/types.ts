/**
 * `stores types`: prints the TypeScript declarations of the registry (src/types-gen.ts), or
 * writes them to `--out FILE` (only when they differ: same schemas, same bytes, same file), or
 * with `--check` tells whether FILE is stale (exit 3) without writing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { generateTypes } from '../types-gen.js';
import { EXIT, loadForCli, type Args, type CliIO } from './common.js';

type TypesAction = 'printed' | 'written' | 'unchanged' | 'fresh' | 'stale';

export async function runTypes(args: Args, io: CliIO, registryPath: string): Promise<number> {
  if (args.check && args.out === undefined) throw new UsageError('--check compares the declarations with a file: give it with --out FILE');
  const registry = await loadForCli(registryPath);
  const text = generateTypes(registry);
  const out = args.out === undefined ? null : path.resolve(io.cwd, args.out);
  let action: TypesAction;
  if (out === null) action = 'printed';
  else {
    let existing: string | null = null;
    try {
      existing = fs.readFileSync(out, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (args.check) action = existing === text ? 'fresh' : 'stale';
    else if (existing === text) action = 'unchanged';
    else {
      const tmp = `${out}.stores-types-${process.pid}`;
      fs.writeFileSync(tmp, text);
      fs.renameSync(tmp, out);
      action = 'written';
    }
  }
  if (args.json) io.stdout(`${JSON.stringify({ out, action, stores: registry.stores.map((s) => s.name), ...(out === null ? { declarations: text } : {}) }, null, 2)}\n`);
  else if (out === null) io.stdout(text);
  else {
    const say: Record<TypesAction, string> = {
      printed: '',
      written: `wrote ${out}`,
      unchanged: `${out} is up to date; nothing written`,
      fresh: `${out} is up to date`,
      stale: `${out} is stale: it is not what the registry's schemas give; run \`stores types --out ${args.out}\` and commit the result`,
    };
    (action === 'stale' ? io.stderr : io.stdout)(`${say[action]}\n`);
  }
  return action === 'stale' ? EXIT.pending : EXIT.ok;
}
