#!/usr/bin/env node
/**
 * Fleet benchmark: `stores` (whole CLI processes, and library calls timed inside a process)
 * against raw better-sqlite3 baselines and the other tools, all measured in the same run.
 *
 *   npm run bench                 # build, then this (which also runs scripts/bench-boot.mjs)
 *   npm run bench:quick           # (BENCH_QUICK=1) a reduced run: check over 50/200/500 dirs, 10-dir
 *                                 # write fleets, 2 rounds, no warm-up; about 2 minutes (3 on a loaded machine)
 *
 * The full run should take about 20 minutes on a quiet 2-core machine (an estimate from the quick
 * run's structure; an hour or more on a busy one): about 350 measured processes, most of the time
 * in the 10k check fleets and in the other tools' rollback-journal runs (each migration its own
 * synced commit).
 *
 * Every workload runs twice, on rollback-journal fleets and on WAL fleets (separate rows):
 * "rollback" fleets are files in journal_mode DELETE whose stores declare DELETE (a copy of the
 * registry with that one setting changed, used by every tool for those rows); "WAL" fleets are
 * WAL files with the shipped registry (which declares WAL). Workload ids (BENCH_ONLY):
 *
 *   check    `stores check --root R --json` over 200, 1,000 and 10,000 data dirs of 3 current
 *            store files each, against the raw scan (whole processes; the raw scan does not run
 *            quick_check, stores does). Target at 1,000 and 10,000 dirs ≤ 1.0× (in a quick run:
 *            at its two larger sizes).
 *   rss      peak RSS of that check (GNU time %M: the process with its worker threads) over
 *            10,000 dirs against 1,000: ≤ 1.2× (needs the check fleets: implies their runs).
 *   create   200 absent dirs: `stores up D1 … D200` (CLI) and reconcileFleet(…, { dirs }) (library)
 *            against raw creation: ≤ 0.5× both; against Kysely, umzug, drizzle: < 1.0×. Each row
 *            shows the journal mode the created files actually have (read from the headers of
 *            a sample of them) beside the one their stores declare (so do upgrade and adopt
 *            rows, for the files they leave).
 *   noop     `stores up --root R` on 200 current dirs against raw no-op: library
 *            (reconcileFleet, in process) ≤ 0.8×, CLI ≤ 1.5×; openStores + close dir after dir
 *            (in process, no target); against Kysely, umzug, drizzle: < 1.0×.
 *   upgrade  200 behind dirs (objects.db at v1/v2/v3 with rows; filestore, sagas current) to v4:
 *            library ≤ 0.8× raw upgrade, CLI ≤ 1.2×; against `--concurrency 1`, Kysely, umzug,
 *            drizzle: < 1.0×.
 *   adopt    200 legacy dirs (objects.db from legacy/forge-era.sql, filestore.db and sagas.db
 *            from their legacy/unstamped.sql) against `--concurrency 1`, Kysely and umzug:
 *            < 1.0×. drizzle cannot express adoption (see scripts/bench/peers.mjs): a note row.
 *   boot     scripts/bench-boot.mjs: openStores + close against raw open + user_version +
 *            schema read, in process: ≤ 1.2×.
 *
 * check, noop and upgrade also measure a floor (scripts/bench/baselines.mjs): the raw work on
 * stores' default threads (the scan with quick_check; the no-op; the upgrade), in rows against the
 * raw baseline (what the machine allows) and stores against the floor (stores' own share); no
 * target.
 *
 * The raw baselines (scripts/bench/baselines.mjs) and the other tools (scripts/bench/peers.mjs)
 * use none of stores' code. Library rows compare times measured inside the child processes
 * around the work (after node started and the modules and registry loaded), the library's
 * against the raw baseline's; the "whole process" rows compare the same processes' wall times.
 *
 * Output: a table on stdout (progress on stderr), scripts/bench-results.json and docs/bench.svg
 * (BENCH_QUICK: scripts/bench-results.quick.json and docs/bench.quick.svg; a selection made with
 * BENCH_ONLY, BENCH_JOURNAL or BENCH_PEERS: *.partial.json, *.partial.svg). Besides the wall
 * times, each row shows the CPU time of both processes (user+sys, all threads: GNU time) and
 * the "other load": cores kept busy by other processes while they ran (from /proc/stat). On a
 * shared machine a row with other load above 0.25 is noisy; run again when the machine is quiet.
 *
 * Environment: BENCH_QUICK=1 (reduced run), BENCH_ONLY (comma-separated workload ids above),
 * BENCH_JOURNAL (delete,wal: the default is both), BENCH_PEERS (kysely,umzug,drizzle: the
 * default is all three; empty for none), BENCH_DIR (where the fleets are built; default the OS
 * temp dir; about 2 GB for a 10k fleet), BENCH_KEEP=1 (keep the fleets), BENCH_CLI (another build
 * of the CLI to measure, e.g. a modified copy of dist/bundle/main.js), BENCH_LIB (the same for
 * dist/bundle/index.js, used by the library rows; bench-boot.mjs always uses dist/bundle/index.js).
 *
 * `node scripts/bench-fleet.mjs --render [RESULTS.json] [OUT.svg]` redraws the chart from a results file.
 *
 * Run `npx tsc -p .` first: `stores` runs from dist/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { svg } from './bench/chart.mjs';
import { JOURNALS, buildTemplates } from './bench/fleet.mjs';
import { drizzleFolders } from './bench/peers.mjs';
import { PKG, STORES, readRegistry, registryWithJournal, sqlite } from './bench/registry.mjs';
import { createRows, report } from './bench/report.mjs';
import { createRunner } from './bench/run.mjs';
import { PEERS, boot, check, create, noop, rewrite } from './bench/workloads.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI = process.env.BENCH_CLI ? path.resolve(process.env.BENCH_CLI) : path.join(PKG, 'dist', 'bundle', 'main.js');
const DIST_INDEX = process.env.BENCH_LIB ? path.resolve(process.env.BENCH_LIB) : path.join(PKG, 'dist', 'bundle', 'index.js');
const CHILD = path.join(HERE, 'bench', 'child.mjs');
const WORKLOADS = ['check', 'rss', 'create', 'noop', 'upgrade', 'adopt', 'boot'];

const list = (env, all, dflt = all) => {
  if (process.env[env] === undefined) return dflt;
  const ids = process.env[env].split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const id of ids) if (!all.includes(id)) throw new Error(`${env}: unknown id ${JSON.stringify(id)} (known: ${all.join(', ')})`);
  return ids;
};

if (process.argv[2] === '--render') {
  const results = process.argv[3] ?? path.join(HERE, 'bench-results.json');
  const out = process.argv[4] ?? path.join(PKG, 'docs', 'bench.svg');
  fs.writeFileSync(out, svg(JSON.parse(fs.readFileSync(results, 'utf8'))));
} else {
  await main();
}

async function main() {
  if (!fs.existsSync(DIST_INDEX)) throw new Error(`${DIST_INDEX} not found: run \`npx tsc -p .\` (or npm run build) first`);
  const QUICK = /^(1|true|yes)$/i.test(process.env.BENCH_QUICK ?? '');
  const only = new Set(list('BENCH_ONLY', WORKLOADS));
  const modes = list('BENCH_JOURNAL', Object.keys(JOURNALS));
  const peers = list('BENCH_PEERS', Object.keys(PEERS));
  const KEEP = /^(1|true|yes)$/i.test(process.env.BENCH_KEEP ?? '');
  const P = QUICK
    ? { check: [50, 200, 500], checkReps: [2, 2, 1], fleet: 10, reps: 2, warmup: 0 }
    : { check: [200, 1000, 10000], checkReps: [5, 5, 3], fleet: 200, reps: 5, warmup: 1 };
  const started = Date.now();
  const log = (s) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);

  const lib = await import(pathToFileURL(DIST_INDEX).href);
  const work = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'stores-bench-fleet-'));
  const listFile = path.join(work, 'dirs.json');
  const runner = createRunner({ cwd: PKG, rssFile: path.join(work, 'rss.txt'), log });
  log(`fleets under ${work}${QUICK ? ' (BENCH_QUICK)' : ''}; journal modes ${modes.join(', ')}; peers ${peers.join(', ') || 'none'}`);

  /** Per journal mode: the registry folder, its plain reading, stores' loaded registry, drizzle's folders, the templates. */
  const R = {};
  for (const mode of modes) {
    const dir = mode === 'wal' ? STORES : registryWithJournal(STORES, path.join(work, 'registry-delete'), JOURNALS.delete.pragma);
    const registry = readRegistry(dir);
    const declared = [...new Set(registry.map((s) => String(s.connection.journal_mode).toUpperCase()))];
    if (declared.length !== 1 || declared[0] !== JOURNALS[mode].pragma) throw new Error(`bench: ${dir} declares journal modes ${declared.join(', ')}, expected ${JOURNALS[mode].pragma}`);
    R[mode] = { dir, registry, lib: await lib.loadRegistry(dir), drizzle: path.join(work, `drizzle-${mode}`) };
    drizzleFolders(registry, R[mode].drizzle);
    R[mode].T = await buildTemplates(lib, mode, R[mode], path.join(work, `tpl-${mode}`));
    log(`${mode}: templates built`);
  }

  /** The argv of each measured process. */
  const cmd = {
    storesCheck: (mode, root) => [CLI, 'check', '--root', root, '--stores', R[mode].dir, '--json'],
    storesUpRoot: (mode, root, conc) => [CLI, 'up', '--root', root, '--stores', R[mode].dir, '--json', ...(conc ? ['--concurrency', String(conc)] : [])],
    storesUpDirs: (mode, dirs) => [CLI, 'up', ...dirs, '--stores', R[mode].dir, '--json'],
    child: (kind, mode, target) => {
      let arg = target;
      if (Array.isArray(target)) {
        fs.writeFileSync(listFile, JSON.stringify(target));
        arg = listFile;
      }
      return [CHILD, kind, R[mode].dir, arg, ...(kind === 'drizzle' ? [R[mode].drizzle] : [])];
    },
  };

  const { rows, row, noteRow } = createRows();
  const workloads = {};
  const want = (id) => only.has(id);
  const c = { P, QUICK, modes, peers, R, runner, cmd, work, KEEP, log, row, noteRow, workloads, want };
  if (want('check') || want('rss')) await check(c);
  if (want('create')) await create(c);
  if (want('noop')) await noop(c);
  for (const kind of ['upgrade', 'adopt']) if (want(kind)) await rewrite(c, kind);
  const bootResult = want('boot') ? await boot(c) : null;

  if (!KEEP) fs.rmSync(work, { recursive: true, force: true });
  const Database = await sqlite();
  const mem = new Database(':memory:');
  const sqliteVersion = mem.prepare('SELECT sqlite_version() AS v').get().v;
  mem.close();
  const partial = only.size < WORKLOADS.length || modes.length < Object.keys(JOURNALS).length || peers.length < Object.keys(PEERS).length;
  report({ QUICK, partial, started, rows, workloads, boot: bootResult, modes, peers, only: [...only], sqliteVersion });
}
