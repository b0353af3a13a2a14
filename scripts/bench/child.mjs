#!/usr/bin/env node
/**
 * One measured process of the fleet benchmark (spawned by scripts/bench-fleet.mjs):
 *
 *   node scripts/bench/child.mjs KIND REGISTRY_DIR TARGET [DRIZZLE_FOLDERS]
 *
 * TARGET is a root to walk (raw-scan; stores-up when it is not a .json file) or a JSON file
 * listing data dirs. KIND:
 *   raw-scan | raw-create | raw-noop | raw-upgrade   the raw baselines (./baselines.mjs)
 *   floor-scan | floor-noop | floor-upgrade          the floors: the raw scan with quick_check, the
 *                                                    raw no-op and the raw upgrade on stores' default
 *                                                    threads (./baselines.mjs)
 *   kysely | umzug | drizzle                          the other tools (./peers.mjs)
 *   stores-up     `reconcileFleet(registry, roots, { dirs })` from dist/bundle/index.js (or BENCH_LIB)
 *   stores-open   `openStores(registry, dir)` + `close()`, dir after dir (what a host's boot does)
 *
 * Every kind reports, as the last line of its stderr, `BENCH_ELAPSED {"s":…,"setupS":…,"files":…}`:
 * s is the wall time around the work itself (after node started, the modules loaded and, for
 * stores, loadRegistry ran: that is setupS), which the library rows compare.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { floorNoop, floorScan, floorUpgrade, rawCreate, rawNoop, rawScan, rawUpgrade } from './baselines.mjs';
import { drizzleDir, kyselyDir, umzugDir } from './peers.mjs';
import { PKG, readRegistry, sqlite } from './registry.mjs';

const [kind, registryDir, target, drizzleBase] = process.argv.slice(2);
if (!kind || !registryDir || !target) throw new Error('usage: child.mjs KIND REGISTRY_DIR TARGET [DRIZZLE_FOLDERS]');
const isList = target.endsWith('.json');
const dirs = isList ? JSON.parse(fs.readFileSync(target, 'utf8')) : null;
const t0 = process.hrtime.bigint();
const since = (t) => Number(process.hrtime.bigint() - t) / 1e9;

let files = 0;
let setupS = 0;
let work;
if (kind.startsWith('stores-')) {
  const lib = await import(pathToFileURL(process.env.BENCH_LIB ? path.resolve(process.env.BENCH_LIB) : path.join(PKG, 'dist', 'bundle', 'index.js')).href);
  const registry = await lib.loadRegistry(registryDir);
  setupS = since(t0);
  if (kind === 'stores-up') {
    work = async () => {
      const report = await lib.reconcileFleet(registry, isList ? [] : [target], isList ? { dirs } : {});
      const code = lib.exitCode(report, 'up');
      if (code !== 0) throw new Error(`bench: reconcileFleet: exit code ${code}: ${JSON.stringify(report.summary)}`);
      return report.summary.stores;
    };
  } else if (kind === 'stores-open') {
    work = async () => {
      let n = 0;
      for (const dir of dirs) {
        const s = await lib.openStores(registry, dir);
        await s.close();
        n += registry.stores.length;
      }
      return n;
    };
  }
} else {
  const registry = readRegistry(registryDir);
  await sqlite();
  const folders = drizzleBase ? Object.fromEntries(registry.map((s) => [s.name, path.join(drizzleBase, s.name)])) : null;
  if (kind === 'drizzle') {
    // Imported before the clock starts, as Kysely and umzug are below.
    await import('drizzle-orm/better-sqlite3');
    await import('drizzle-orm/better-sqlite3/migrator');
  } else if (kind === 'kysely') await import('kysely');
  else if (kind === 'umzug') await import('umzug');
  setupS = since(t0);
  const perDir = (fn) => async () => {
    for (const dir of dirs) await fn(dir);
    return dirs.length * registry.length;
  };
  work = {
    'raw-scan': () => rawScan(registry, target),
    'floor-scan': () => floorScan(registry, target),
    'floor-noop': () => floorNoop(registry, dirs),
    'floor-upgrade': () => floorUpgrade(registry, dirs),
    'raw-create': () => rawCreate(registry, dirs),
    'raw-noop': () => rawNoop(registry, dirs),
    'raw-upgrade': () => rawUpgrade(registry, dirs),
    kysely: perDir((dir) => kyselyDir(registry, dir)),
    umzug: perDir((dir) => umzugDir(registry, dir)),
    drizzle: perDir((dir) => drizzleDir(registry, dir, folders)),
  }[kind];
}
if (!work) throw new Error(`bench: unknown child kind ${kind}`);
const t1 = process.hrtime.bigint();
files = await work();
const s = since(t1);
if (!files) throw new Error(`bench: ${kind} handled no store file under ${target}`);
process.stderr.write(`BENCH_ELAPSED ${JSON.stringify({ s, setupS, files })}\n`);
