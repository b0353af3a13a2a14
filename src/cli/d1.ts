/**
 * `stores up|check|adopt --d1 FILE`: the same commands over Cloudflare D1 databases. The config
 * file names each dir's databases (src/d1/config.ts); Miniflare runs them on this machine
 * (src/d1/local.ts); the D1 driver reconciles them (src/d1/) and returns the same report as a
 * fleet of files, rendered the same way, with the same exit codes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { exitCode, type Mode } from '../report.js';
import { readD1Config, D1ConfigError } from '../d1/config.js';
import { openLocalD1, MiniflareMissingError } from '../d1/local.js';
import { reconcileD1 } from '../d1/index.js';
import { renderReport, type Style } from './render.js';
import { renderHtml } from './html.js';
import { EXIT, loadForCli, values, type Args, type CliIO } from './common.js';

/** Flags that mean something for files only. */
function refuseFileFlags(args: Args, command: string): void {
  if ((args.dirs ?? []).length > 0 || values(args.root).length > 0) throw new UsageError(`--d1 names the databases; give no data dir or --root with it (run stores ${command} twice for files and D1)`);
  if (args.create === false) throw new UsageError('--no-create does not apply to --d1: D1 databases are created by wrangler or the dashboard, and up only initializes an empty one');
}

/** Runs one command over the D1 databases a config file names. Returns the exit code. */
export async function runD1(command: Mode, args: Args, io: CliIO, registryPath: string, style: Style): Promise<number> {
  refuseFileFlags(args, command);
  const registry = await loadForCli(registryPath);
  const file = path.resolve(io.cwd, args.d1!);
  let config;
  try {
    config = readD1Config(file, registry);
  } catch (err) {
    if (err instanceof D1ConfigError) throw new UsageError(`--d1 ${err.message}`);
    throw err;
  }
  let local;
  try {
    local = await openLocalD1(config);
  } catch (err) {
    if (err instanceof MiniflareMissingError) throw new UsageError(`--d1: ${err.message}`);
    throw err;
  }
  let report;
  try {
    report = await reconcileD1(registry, local.dirs, { mode: command, dryRun: args['dry-run'] === true, repair: args.repair === true, concurrency: args.concurrency });
  } finally {
    await local.dispose();
  }
  if (args.html) {
    const out = path.resolve(io.cwd, args.html);
    fs.writeFileSync(out, renderHtml(report, new Date()));
    if (!args.json) io.stderr(`stores: wrote ${out}\n`);
  }
  if (args.json) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  else io.stdout(renderReport(report, command, style, { dryRun: args['dry-run'] === true }));
  return exitCode(report, command) ?? EXIT.ok;
}
