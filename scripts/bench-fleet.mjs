#!/usr/bin/env node
/**
 * Fleet benchmark: `stores` (whole CLI processes, and library calls timed inside a process)
 * against raw better-sqlite3 baselines and the other tools, all measured in the same run.
 *
 *   npm run bench                 # build, then this (which also runs scripts/bench-boot.mjs)
 *   npm run bench:quick           # (BENCH_QUICK=1) a reduced run: check over 50/200/500 dirs, 10-dir
 *                                 # write fleets, 2 rounds, no warm-up; about 2 minutes (3 on a loaded machine)
 *
 * The full run takes about 15-20 minutes on a quiet 2-core machine (far longer on a busy one):
 * about 350 measured processes, most of the time in the 10k check fleets and in the other tools'
 * rollback-journal runs (a commit per migration, each synced).
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
 * of the CLI to measure, e.g. a modified copy of dist/cli/main.js), BENCH_LIB (the same for
 * dist/index.js, used by the library rows).
 *
 * `node scripts/bench-fleet.mjs --render [RESULTS.json] [OUT.svg]` redraws the chart from a results file.
 *
 * Run `npx tsc -p .` first: `stores` runs from dist/.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { svg } from './bench/chart.mjs';
import { drizzleDir, drizzleFolders, expectedRecords, kyselyDir } from './bench/peers.mjs';
import { OBJECTS_ROWS_V1, PKG, STORES, headerJournal, readRegistry, registryWithJournal, sqlite } from './bench/registry.mjs';
import { createRunner, median } from './bench/run.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI = process.env.BENCH_CLI ? path.resolve(process.env.BENCH_CLI) : path.join(PKG, 'dist', 'cli', 'main.js');
const DIST_INDEX = process.env.BENCH_LIB ? path.resolve(process.env.BENCH_LIB) : path.join(PKG, 'dist', 'index.js');
const BOOT_BENCH = path.join(HERE, 'bench-boot.mjs');
const CHILD = path.join(HERE, 'bench', 'child.mjs');
const WORKLOADS = ['check', 'rss', 'create', 'noop', 'upgrade', 'adopt', 'boot'];
const JOURNALS = { delete: { pragma: 'DELETE', label: 'rollback', header: 'rollback' }, wal: { pragma: 'WAL', label: 'WAL', header: 'wal' } };
const PEERS = { kysely: 'Kysely Migrator', umzug: 'umzug', drizzle: 'drizzle migrator' };

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
  const want = (id) => only.has(id);
  const modes = list('BENCH_JOURNAL', Object.keys(JOURNALS));
  const peers = list('BENCH_PEERS', Object.keys(PEERS));
  const KEEP = /^(1|true|yes)$/i.test(process.env.BENCH_KEEP ?? '');
  const P = QUICK
    ? { check: [50, 200, 500], checkReps: [2, 2, 1], fleet: 10, reps: 2, warmup: 0 }
    : { check: [200, 1000, 10000], checkReps: [5, 5, 3], fleet: 200, reps: 5, warmup: 1 };
  const started = Date.now();
  const log = (s) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);

  const lib = await import(pathToFileURL(DIST_INDEX).href);
  const Database = await sqlite();
  const work = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'stores-bench-fleet-'));
  const listFile = path.join(work, 'dirs.json');
  const runner = createRunner({ cwd: PKG, rssFile: path.join(work, 'rss.txt'), log });
  log(`fleets under ${work}${QUICK ? ' (BENCH_QUICK)' : ''}; journal modes ${modes.join(', ')}; peers ${peers.join(', ') || 'none'}`);

  // ------------------------------------------------------------------ registries and templates
  /** Per journal mode: the registry folder, its plain reading, stores' loaded registry, the templates. */
  const R = {};
  for (const mode of modes) {
    const dir = mode === 'wal' ? STORES : registryWithJournal(STORES, path.join(work, 'registry-delete'), JOURNALS.delete.pragma);
    const registry = readRegistry(dir);
    const declared = [...new Set(registry.map((s) => String(s.connection.journal_mode).toUpperCase()))];
    if (declared.length !== 1 || declared[0] !== JOURNALS[mode].pragma) throw new Error(`bench: ${dir} declares journal modes ${declared.join(', ')}, expected ${JOURNALS[mode].pragma}`);
    R[mode] = { dir, registry, lib: await lib.loadRegistry(dir), drizzle: path.join(work, `drizzle-${mode}`) };
    drizzleFolders(registry, R[mode].drizzle);
    R[mode].T = await templates(mode, R[mode], path.join(work, `tpl-${mode}`));
    log(`${mode}: templates built`);
  }

  /** Template files per flavour and state, every one in journal mode `mode`, built as each tool leaves them. */
  async function templates(mode, reg, tpl) {
    const { registry } = reg;
    const objects = registry.find((s) => s.name === 'objects');
    const writeSql = (file, sql, userVersion) => {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const db = new Database(file);
      db.pragma(`journal_mode = ${JOURNALS[mode].pragma}`);
      db.exec('BEGIN');
      db.exec(sql);
      db.pragma(`user_version = ${userVersion}`);
      db.exec('COMMIT');
      db.close();
    };
    const files = (dir) => Object.fromEntries(registry.map((st) => [st.file, path.join(dir, st.file)]));
    const behind = [1, 2, 3].filter((v) => v >= objects.minVersion && v < objects.version);
    const T = {};
    // stores (and umzug and raw, whose state is user_version: the very same files)
    const cur = path.join(tpl, 'stores-current');
    await (await lib.openStores(reg.lib, cur)).close();
    T.stores = { current: files(cur) };
    for (const v of behind) {
      const f = path.join(tpl, `stores-v${v}`, objects.file);
      writeSql(f, objects.oldestSchema + objects.migrations.filter((m) => m.version <= v).map((m) => m.sql).join('\n') + OBJECTS_ROWS_V1, v);
      T.stores[`v${v}`] = { ...T.stores.current, [objects.file]: f };
    }
    T.stores.legacy = {};
    for (const st of registry) {
      const f = path.join(tpl, 'legacy', st.file);
      writeSql(f, st.legacySamples[0], 0);
      T.stores.legacy[st.file] = f;
    }
    T.raw = T.stores;
    T.umzug = T.stores;
    // Kysely and drizzle: their fleets are what they themselves leave (their own tables included).
    const kcur = path.join(tpl, 'kysely-current');
    await kyselyDir(registry, kcur);
    T.kysely = { current: files(kcur), legacy: T.stores.legacy };
    const dcur = path.join(tpl, 'drizzle-current');
    await drizzleDir(registry, dcur, drizzleFolders(registry, reg.drizzle));
    T.drizzle = { current: files(dcur) };
    for (const v of behind) {
      const k = path.join(tpl, `kysely-v${v}`);
      await kyselyDir([objects], k, v);
      const d = path.join(tpl, `drizzle-v${v}`);
      await drizzleDir([objects], d, drizzleFolders([objects], path.join(tpl, `drizzle-folders-v${v}`), v), false);
      for (const f of [path.join(k, objects.file), path.join(d, objects.file)]) {
        const db = new Database(f);
        db.exec(OBJECTS_ROWS_V1);
        db.close();
      }
      T.kysely[`v${v}`] = { ...T.kysely.current, [objects.file]: path.join(k, objects.file) };
      T.drizzle[`v${v}`] = { ...T.drizzle.current, [objects.file]: path.join(d, objects.file) };
    }
    // Every template in the fleet's journal mode, whatever the tool left, and nothing beside it.
    for (const f of new Set(Object.values(T).flatMap((states) => Object.values(states).flatMap((s) => Object.values(s))))) {
      const db = new Database(f);
      db.pragma(`journal_mode = ${JOURNALS[mode].pragma}`);
      db.close();
      if (headerJournal(f) !== JOURNALS[mode].header) throw new Error(`bench: template ${f} is ${headerJournal(f)}, expected ${JOURNALS[mode].header}`);
    }
    for (const f of fs.readdirSync(tpl, { recursive: true })) if (/-(wal|shm|journal)$/.test(f)) throw new Error(`bench: template left ${path.join(tpl, f)}`);
    return T;
  }

  // ------------------------------------------------------------------ fleets
  /** `count` data dirs under `root` (`1.N.0/shard-NNNNN/`). */
  const dirNames = (root, count) => Array.from({ length: count }, (_, i) => path.join(root, `1.${i % 4}.0`, `shard-${String(i).padStart(5, '0')}`));
  /** Builds `count` data dirs under `root`, dir i from the templates `T[stateOf(i)]`. */
  const buildFleet = (root, count, T, stateOf) => {
    fs.rmSync(root, { recursive: true, force: true });
    const dirs = dirNames(root, count);
    dirs.forEach((dir, i) => {
      fs.mkdirSync(dir, { recursive: true });
      for (const [name, src] of Object.entries(T[stateOf(i)])) fs.copyFileSync(src, path.join(dir, name));
    });
    return dirs;
  };
  const rm = (p) => fs.rmSync(p, { recursive: true, force: true });
  /** The journal modes the headers of a sample of the fleet's files record (first, middle, last dir). */
  const journalOf = (dirs, registry) => {
    const sample = [...new Set([0, Math.floor(dirs.length / 2), dirs.length - 1])].flatMap((i) => registry.map((st) => path.join(dirs[i], st.file)));
    const counts = {};
    for (const f of sample) counts[headerJournal(f)] = (counts[headerJournal(f)] ?? 0) + 1;
    const kinds = Object.keys(counts);
    return { mode: kinds.length === 1 ? kinds[0] : kinds.map((k) => `${k} ${counts[k]}`).join(', '), sampled: sample.length, counts };
  };

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

  /** Every store file of `dirs` is at its target, as its tool records it. */
  const validate = (dirs, flavour, registry) => {
    for (const dir of dirs) {
      for (const st of registry) {
        const f = path.join(dir, st.file);
        const db = new Database(f, { readonly: true, fileMustExist: true });
        try {
          const table = { kysely: 'kysely_migration', drizzle: '__drizzle_migrations' }[flavour];
          if (table) {
            const n = db.prepare(`SELECT count(*) AS n FROM ${table}`).get().n;
            if (n !== expectedRecords(st)) throw new Error(`bench: ${f}: ${table} holds ${n} rows, expected ${expectedRecords(st)}`);
          } else {
            const uv = db.pragma('user_version', { simple: true });
            if (uv !== st.version) throw new Error(`bench: ${f}: user_version ${uv}, expected ${st.version} (${flavour})`);
          }
          if (st.name === 'objects') {
            const has = db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name IN ('db_agents', 'db_memory_bundles')").get().n;
            const blank = db.prepare("SELECT count(*) AS n FROM db_memory_bundles WHERE id = 'blank'").get().n;
            if (has !== 2 || blank !== 1) throw new Error(`bench: ${f}: not at the latest schema with its seed row (${flavour})`);
          }
        } finally {
          db.close();
        }
      }
    }
  };

  // ------------------------------------------------------------------ rows
  const rows = [];
  const workloads = {};
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
  const name = (n) => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));
  const peerVariants = (mode, targetOf) => peers.map((p) => ({ id: p, ...targetOf(p) }));
  const peerRows = (base, s, mode) => {
    for (const p of peers) row({ ...base, mode, subject: s.stores, tool: 'stores up (CLI)', baseline: s[p], baselineName: PEERS[p], target: 1.0, targetKind: '<' });
  };

  // ------------------------------------------------------------------ check, peak RSS
  if (want('check') || want('rss')) {
    workloads.check = {};
    for (const mode of modes) {
      const results = {};
      for (const [k, size] of P.check.entries()) {
        const root = path.join(work, `check-${mode}-${size}`);
        const t0 = Date.now();
        const dirs = buildFleet(root, size, R[mode].T.stores, () => 'current');
        log(`check ${mode}: built ${size} current data dirs (${size * R[mode].registry.length} files) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        const s = runner.measure(
          `check ${mode} ${size}`,
          [
            { id: 'stores', argv: () => cmd.storesCheck(mode, root) },
            { id: 'raw', argv: () => cmd.child('raw-scan', mode, root) },
          ],
          P.checkReps[k],
          size <= 1000 ? P.warmup : 0,
        );
        const left = fs.readdirSync(root, { recursive: true }).filter((f) => /-(wal|shm|journal)$/.test(f));
        if (left.length > 0) throw new Error(`bench: check left ${left.length} -wal/-shm/-journal files under ${root}`);
        s.journalAfter = journalOf(dirs, R[mode].registry);
        if (s.journalAfter.mode !== JOURNALS[mode].header) throw new Error(`bench: check changed the journal mode of ${root}: ${s.journalAfter.mode}`);
        results[size] = s;
        if (!KEEP) rm(root);
      }
      workloads.check[mode] = { dirs: P.check, filesPerDir: R[mode].registry.length, results };
      if (want('check')) {
        for (const size of P.check) {
          const target = size >= P.check[1] ? 1.0 : null;
          row({ workload: `check ${name(size)} dirs`, mode, dirs: size, tool: 'stores check (CLI)', subject: results[size].stores, baseline: results[size].raw, baselineName: 'raw scan (1 thread)', target });
        }
      }
      if (want('rss') && runner.hasTime) {
        const [small, large] = [P.check[1], P.check[2]];
        row({ workload: `peak RSS, check ${name(large)} vs ${name(small)} dirs`, mode, tool: 'stores check (CLI)', subject: results[large].stores.rssMB, baseline: results[small].stores.rssMB, baselineName: `check ${name(small)} dirs`, target: 1.2, unit: 'MB' });
      }
    }
  }

  // ------------------------------------------------------------------ create
  if (want('create')) {
    workloads.create = {};
    for (const mode of modes) {
      const { registry } = R[mode];
      const root = path.join(work, `create-${mode}`);
      const dirs = dirNames(root, P.fleet);
      const born = {};
      const fresh = () => {
        rm(root);
        return dirs;
      };
      const done = (id, flavour) => (ctx, r, warmup) => {
        if (r === -warmup) {
          validate(dirs, flavour, registry);
          born[id] = journalOf(dirs, registry);
        }
        rm(root);
      };
      const s = runner.measure(
        `create ${mode} ${P.fleet}`,
        [
          { id: 'stores', prepare: fresh, argv: () => cmd.storesUpDirs(mode, dirs), after: done('stores', 'stores') },
          { id: 'stores-lib', prepare: fresh, argv: () => cmd.child('stores-up', mode, dirs), after: done('stores-lib', 'stores') },
          { id: 'raw', prepare: fresh, argv: () => cmd.child('raw-create', mode, dirs), after: done('raw', 'raw') },
          ...peerVariants(mode, (p) => ({ prepare: fresh, argv: () => cmd.child(p, mode, dirs), after: done(p, p) })),
        ],
        P.reps,
        P.warmup,
      );
      workloads.create[mode] = { dirs: P.fleet, declared: JOURNALS[mode].pragma, born, results: s };
      const w = { workload: `create ${P.fleet} dirs`, mode, dirs: P.fleet, declared: JOURNALS[mode].pragma };
      const bornOf = (id) => ({ ...born[id], mismatch: born[id].mode !== JOURNALS[mode].header });
      const raw = { baseline: s.raw, baselineName: 'raw create (1 thread)', baselineBorn: bornOf('raw') };
      row({ ...w, ...raw, tool: 'reconcileFleet (library)', subject: s['stores-lib'], inner: true, target: 0.5, born: bornOf('stores-lib') });
      row({ ...w, ...raw, tool: 'stores up (CLI)', subject: s.stores, target: 0.5, born: bornOf('stores') });
      row({ ...w, ...raw, tool: 'reconcileFleet, whole process', subject: s['stores-lib'], born: bornOf('stores-lib') });
      for (const p of peers) row({ ...w, tool: 'stores up (CLI)', subject: s.stores, born: bornOf('stores'), baseline: s[p], baselineName: PEERS[p], baselineBorn: bornOf(p), target: 1.0, targetKind: '<' });
    }
  }

  // ------------------------------------------------------------------ no-op
  if (want('noop')) {
    workloads.noop = {};
    for (const mode of modes) {
      const { registry, T } = R[mode];
      const fleets = {};
      for (const flavour of ['stores', ...peers.filter((p) => p !== 'umzug')]) fleets[flavour] = buildFleet(path.join(work, `noop-${mode}-${flavour}`), P.fleet, T[flavour], () => 'current');
      const rootS = path.dirname(path.dirname(fleets.stores[0]));
      const s = runner.measure(
        `no-op ${mode} ${P.fleet}`,
        [
          { id: 'stores', argv: () => cmd.storesUpRoot(mode, rootS) },
          { id: 'stores-lib', argv: () => cmd.child('stores-up', mode, rootS) },
          { id: 'stores-open', argv: () => cmd.child('stores-open', mode, fleets.stores) },
          { id: 'raw', argv: () => cmd.child('raw-noop', mode, fleets.stores) },
          ...peerVariants(mode, (p) => ({ argv: () => cmd.child(p, mode, fleets[p] ?? fleets.stores) })),
        ],
        P.reps,
        P.warmup,
      );
      for (const [flavour, dirs] of Object.entries(fleets)) {
        validate(dirs, flavour, registry);
        const j = journalOf(dirs, registry);
        if (j.mode !== JOURNALS[mode].header) throw new Error(`bench: no-op changed the journal mode of the ${flavour} fleet: ${j.mode}`);
        if (!KEEP) rm(path.dirname(path.dirname(dirs[0])));
      }
      workloads.noop[mode] = { dirs: P.fleet, results: s };
      const w = { workload: `no-op ${P.fleet} current dirs`, mode, dirs: P.fleet };
      const raw = { baseline: s.raw, baselineName: 'raw no-op (1 thread)' };
      row({ ...w, ...raw, tool: 'reconcileFleet (library)', subject: s['stores-lib'], inner: true, target: 0.8 });
      row({ ...w, ...raw, tool: 'stores up (CLI)', subject: s.stores, target: 1.5 });
      row({ ...w, ...raw, tool: 'reconcileFleet, whole process', subject: s['stores-lib'] });
      row({ ...w, ...raw, tool: 'openStores + close per dir (library)', subject: s['stores-open'], inner: true });
      peerRows(w, s, mode);
    }
  }

  // ------------------------------------------------------------------ upgrade, adopt
  for (const kind of ['upgrade', 'adopt']) {
    if (!want(kind)) continue;
    workloads[kind] = {};
    for (const mode of modes) {
      const { registry, T } = R[mode];
      const behindStates = Object.keys(T.stores).filter((k) => /^v\d+$/.test(k));
      const stateOf = kind === 'upgrade' ? (i) => behindStates[i % behindStates.length] : () => 'legacy';
      const root = path.join(work, `${kind}-${mode}`);
      const after = {};
      const fleet = (flavour) => () => buildFleet(root, P.fleet, T[flavour], stateOf);
      const done = (id, flavour) => (dirs, r, warmup) => {
        if (r === -warmup) {
          validate(dirs, flavour, registry);
          after[id] = journalOf(dirs, registry);
          if (kind === 'adopt') {
            const backups = fs.readdirSync(root, { recursive: true }).filter((f) => /\.backup-\d/.test(f)).length;
            if (backups !== P.fleet) throw new Error(`bench: ${kind} (${flavour}) left ${backups} backups, expected ${P.fleet}`);
          }
        }
        rm(root);
      };
      const tools = kind === 'upgrade' ? peers : peers.filter((p) => p !== 'drizzle');
      const variants = [
        { id: 'stores', prepare: fleet('stores'), argv: () => cmd.storesUpRoot(mode, root), after: done('stores', 'stores') },
        { id: 'stores-c1', prepare: fleet('stores'), argv: () => cmd.storesUpRoot(mode, root, 1), after: done('stores-c1', 'stores') },
        ...(kind === 'upgrade'
          ? [
              { id: 'stores-lib', prepare: fleet('stores'), argv: () => cmd.child('stores-up', mode, root), after: done('stores-lib', 'stores') },
              { id: 'raw', prepare: fleet('raw'), argv: (dirs) => cmd.child('raw-upgrade', mode, dirs), after: done('raw', 'raw') },
            ]
          : []),
        ...tools.map((p) => ({ id: p, prepare: fleet(p), argv: (dirs) => cmd.child(p, mode, dirs), after: done(p, p) })),
      ];
      const s = runner.measure(`${kind} ${mode} ${P.fleet}`, variants, P.reps, P.warmup);
      workloads[kind][mode] = { dirs: P.fleet, states: kind === 'upgrade' ? behindStates : ['legacy'], journalAfter: after, results: s };
      const w = { workload: kind === 'upgrade' ? `upgrade ${P.fleet} dirs v1…v3 → v4` : `adopt ${P.fleet} legacy dirs`, mode, dirs: P.fleet, declared: JOURNALS[mode].pragma };
      const j = (id) => ({ ...after[id], mismatch: after[id].mode !== JOURNALS[mode].header });
      const cli = { tool: 'stores up (CLI)', subject: s.stores, born: j('stores') };
      if (kind === 'upgrade') {
        const raw = { baseline: s.raw, baselineName: 'raw upgrade (1 thread)', baselineBorn: j('raw') };
        row({ ...w, ...raw, tool: 'reconcileFleet (library)', subject: s['stores-lib'], inner: true, target: 0.8, born: j('stores-lib') });
        row({ ...w, ...raw, ...cli, target: 1.2 });
        row({ ...w, ...raw, tool: 'reconcileFleet, whole process', subject: s['stores-lib'], born: j('stores-lib') });
      }
      row({ ...w, ...cli, baseline: s['stores-c1'], baselineName: 'stores up --concurrency 1', baselineBorn: j('stores-c1'), target: 1.0, targetKind: '<' });
      for (const p of tools) row({ ...w, ...cli, baseline: s[p], baselineName: PEERS[p], baselineBorn: j(p), target: 1.0, targetKind: '<' });
      if (kind === 'adopt' && peers.includes('drizzle')) {
        noteRow({ ...w, tool: 'stores up (CLI)', baselineName: PEERS.drizzle, note: 'not measured: drizzle runs SQL files unconditionally; adoption needs conditional renames and a backup only when dead tables hold rows' });
      }
    }
  }

  // ------------------------------------------------------------------ boot
  let boot = null;
  if (want('boot')) {
    log('boot: scripts/bench-boot.mjs');
    const env = QUICK ? { BENCH_REPS: '60', BENCH_WARMUP: '10', BENCH_PROC_REPS: '5', BENCH_REG_REPS: '10', ...process.env } : process.env;
    const r = spawnSync(process.execPath, [BOOT_BENCH], { cwd: PKG, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 << 20 });
    if (r.status !== 0) throw new Error(`bench: bench-boot.mjs exited ${r.status}`);
    const lines = r.stdout.trim().split('\n');
    process.stderr.write(lines.slice(0, -1).map((l) => `  ${l}`).join('\n') + '\n');
    boot = { source: 'scripts/bench-boot.mjs', ...JSON.parse(lines.at(-1)) };
    row({ workload: 'boot, current dir, in process', tool: 'openStores + close', subject: boot.inProcess.openStores.median, baselineName: 'raw open + read', baseline: boot.inProcess.raw.median, target: boot.target, unit: 'µs', note: 'raw: open, user_version, sqlite_schema, close, ×3' });
    row({ workload: 'boot, whole process', tool: 'stores boot', subject: boot.process.openStores.median / 1e6, baselineName: 'raw', baseline: boot.process.raw.median / 1e6, note: 'node + loadRegistry + openStores + close vs node + better-sqlite3 raw; no target' });
  }

  if (!KEEP) rm(work);
  const mem = new Database(':memory:');
  const sqliteVersion = mem.prepare('SELECT sqlite_version() AS v').get().v;
  mem.close();
  const partial = only.size < WORKLOADS.length || modes.length < Object.keys(JOURNALS).length || peers.length < Object.keys(PEERS).length;
  report({ QUICK, partial, started, rows, workloads, boot, modes, peers, only: [...only], sqliteVersion });
}

// ---------------------------------------------------------------------------------------------
// The report: JSON, chart, table.
// ---------------------------------------------------------------------------------------------

function report({ QUICK, partial, started, rows, workloads, boot, modes, peers, only, sqliteVersion }) {
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
  const outJson = path.join(HERE, `bench-results${suffix}.json`);
  const outSvg = path.join(PKG, 'docs', `bench${suffix}.svg`);
  fs.writeFileSync(outJson, `${JSON.stringify(result, null, 2)}\n`);
  fs.mkdirSync(path.dirname(outSvg), { recursive: true });
  fs.writeFileSync(outSvg, svg(result));

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
