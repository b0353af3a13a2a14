/**
 * The workloads of the fleet benchmark, each run on every journal mode asked for; each adds its
 * rows (comparisons) and its raw figures (`workloads`). `c` is the run's context (bench-fleet.mjs).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { JOURNALS, buildFleet, dirNames, journalOf, rm, validate } from './fleet.mjs';
import { PKG } from './registry.mjs';

export const PEERS = { kysely: 'Kysely Migrator', umzug: 'umzug', drizzle: 'drizzle migrator' };
const BOOT_BENCH = path.join(PKG, 'scripts', 'bench-boot.mjs');
const name = (n) => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));
const peerVariants = (peers, targetOf) => peers.map((p) => ({ id: p, ...targetOf(p) }));
/** A floor must do the raw baseline's whole work: the same number of store files, or the bench stops. */
const sameWork = (what, s) => {
  if (s.floor.inner.files !== s.raw.inner.files) throw new Error(`bench: ${what}: the floor handled ${s.floor.inner.files} store files, the raw baseline ${s.raw.inner.files}`);
};

/** check over the fleet sizes, and the peak RSS of the largest against the middle one. */
export async function check(c) {
  const { P, modes, R, runner, cmd, work, KEEP, log, row, workloads, want } = c;
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
          { id: 'floor', argv: () => cmd.child('floor-scan', mode, root) },
        ],
        P.checkReps[k],
        size <= 1000 ? P.warmup : 0,
      );
      sameWork(`check ${mode} ${size}`, s);
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
      // What the machine allows: the raw scan plus quick_check on stores' threads, and stores against it.
      for (const size of P.check) {
        row({ workload: `check ${name(size)} dirs`, mode, dirs: size, tool: 'floor: raw + quick_check, all threads', subject: results[size].floor, baseline: results[size].raw, baselineName: 'raw scan (1 thread)' });
        row({ workload: `check ${name(size)} dirs`, mode, dirs: size, tool: 'stores check (CLI)', subject: results[size].stores, baseline: results[size].floor, baselineName: 'floor (raw + quick_check, all threads)' });
      }
    }
    if (want('rss') && runner.hasTime) {
      const [small, large] = [P.check[1], P.check[2]];
      row({ workload: `peak RSS, check ${name(large)} vs ${name(small)} dirs`, mode, tool: 'stores check (CLI)', subject: results[large].stores.rssMB, baseline: results[small].stores.rssMB, baselineName: `check ${name(small)} dirs`, target: 1.2, unit: 'MB' });
    }
  }
}

/** create: absent dirs, every tool; the journal mode the files are born in. */
export async function create(c) {
  const { P, modes, peers, R, runner, cmd, work, row, workloads } = c;
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
        ...peerVariants(peers, (p) => ({ prepare: fresh, argv: () => cmd.child(p, mode, dirs), after: done(p, p) })),
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

/** no-op: current dirs, every tool. */
export async function noop(c) {
  const { P, modes, peers, R, runner, cmd, work, KEEP, row, workloads } = c;
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
        { id: 'floor', argv: () => cmd.child('floor-noop', mode, fleets.stores) },
        ...peerVariants(peers, (p) => ({ argv: () => cmd.child(p, mode, fleets[p] ?? fleets.stores) })),
      ],
      P.reps,
      P.warmup,
    );
    sameWork(`no-op ${mode}`, s);
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
    row({ ...w, ...raw, tool: 'floor: raw no-op, all threads', subject: s.floor, inner: true });
    row({ ...w, tool: 'reconcileFleet (library)', subject: s['stores-lib'], inner: true, baseline: s.floor, baselineName: 'floor (raw no-op, all threads)' });
    for (const p of peers) row({ ...w, tool: 'stores up (CLI)', subject: s.stores, baseline: s[p], baselineName: PEERS[p], target: 1.0, targetKind: '<' });
  }
}

/** upgrade (behind dirs) or adopt (legacy dirs): fleets rebuilt before every run. */
export async function rewrite(c, kind) {
  const { P, modes, peers, R, runner, cmd, work, row, noteRow, workloads } = c;
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
            { id: 'floor', prepare: fleet('raw'), argv: (dirs) => cmd.child('floor-upgrade', mode, dirs), after: done('floor', 'raw') },
          ]
        : []),
      ...tools.map((p) => ({ id: p, prepare: fleet(p), argv: (dirs) => cmd.child(p, mode, dirs), after: done(p, p) })),
    ];
    const s = runner.measure(`${kind} ${mode} ${P.fleet}`, variants, P.reps, P.warmup);
    if (kind === 'upgrade') sameWork(`upgrade ${mode}`, s);
    workloads[kind][mode] = { dirs: P.fleet, states: kind === 'upgrade' ? behindStates : ['legacy'], journalAfter: after, results: s };
    const w = { workload: kind === 'upgrade' ? `upgrade ${P.fleet} dirs v1…v3 → v4` : `adopt ${P.fleet} legacy dirs`, mode, dirs: P.fleet, declared: JOURNALS[mode].pragma };
    const j = (id) => ({ ...after[id], mismatch: after[id].mode !== JOURNALS[mode].header });
    const cli = { tool: 'stores up (CLI)', subject: s.stores, born: j('stores') };
    if (kind === 'upgrade') {
      const raw = { baseline: s.raw, baselineName: 'raw upgrade (1 thread)', baselineBorn: j('raw') };
      row({ ...w, ...raw, tool: 'reconcileFleet (library)', subject: s['stores-lib'], inner: true, target: 0.8, born: j('stores-lib') });
      row({ ...w, ...raw, ...cli, target: 1.2 });
      row({ ...w, ...raw, tool: 'reconcileFleet, whole process', subject: s['stores-lib'], born: j('stores-lib') });
      row({ ...w, ...raw, tool: 'floor: raw upgrade, all threads', subject: s.floor, inner: true, born: j('floor') });
      row({ ...w, tool: 'reconcileFleet (library)', subject: s['stores-lib'], inner: true, born: j('stores-lib'), baseline: s.floor, baselineName: 'floor (raw upgrade, all threads)', baselineBorn: j('floor') });
    }
    row({ ...w, ...cli, baseline: s['stores-c1'], baselineName: 'stores up --concurrency 1', baselineBorn: j('stores-c1'), target: 1.0, targetKind: '<' });
    for (const p of tools) row({ ...w, ...cli, baseline: s[p], baselineName: PEERS[p], baselineBorn: j(p), target: 1.0, targetKind: '<' });
    if (kind === 'adopt' && peers.includes('drizzle')) {
      noteRow({ ...w, tool: 'stores up (CLI)', baselineName: PEERS.drizzle, note: 'not measured: drizzle runs SQL files unconditionally; adoption needs conditional renames and a backup only when dead tables hold rows' });
    }
  }
}

/** boot: scripts/bench-boot.mjs (its last stdout line is its JSON); returns that JSON. */
export async function boot(c) {
  const { QUICK, log, row } = c;
  log('boot: scripts/bench-boot.mjs');
  const env = QUICK ? { BENCH_REPS: '60', BENCH_WARMUP: '10', BENCH_PROC_REPS: '5', BENCH_REG_REPS: '10', ...process.env } : process.env;
  const r = spawnSync(process.execPath, [BOOT_BENCH], { cwd: PKG, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`bench: bench-boot.mjs exited ${r.status}`);
  const lines = r.stdout.trim().split('\n');
  process.stderr.write(lines.slice(0, -1).map((l) => `  ${l}`).join('\n') + '\n');
  const boot = { source: 'scripts/bench-boot.mjs', ...JSON.parse(lines.at(-1)) };
  row({ workload: 'boot, current dir, in process', tool: 'openStores + close', subject: boot.inProcess.openStores.median, baselineName: 'raw open + read', baseline: boot.inProcess.raw.median, target: boot.target, unit: 'µs', note: 'raw: open, user_version, sqlite_schema, close, ×3' });
  row({ workload: 'boot, whole process', tool: 'stores boot', subject: boot.process.openStores.median / 1e6, baselineName: 'raw', baseline: boot.process.raw.median / 1e6, note: 'node + loadRegistry + openStores + close vs node + better-sqlite3 raw; no target' });
  return boot;
}
