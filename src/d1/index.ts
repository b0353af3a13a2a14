/**
 * The same registry over Cloudflare D1 databases: `reconcileD1` and `checkD1` take the
 * databases as bindings (a Worker's `env.DB`, Miniflare's, wrangler's `getPlatformProxy()`) and
 * return the same {@link Report} as the file fleet. The engine's pure middle (classify, plan) is
 * reused unchanged; this driver supplies the two edges: the facts in (look.ts, on a replica of
 * the schema in memory), one atomic batch out (translate.ts, batch.ts).
 *
 * Identity: a tenant is reported as `d1:<name>` (a data dir's `path`), a database as
 * `d1:<binding>` (a store's `file`). No backup is taken (`backup: null`): D1's Time Travel keeps
 * the database's history.
 */
import pLimit from 'p-limit';
import type { Registry, Store } from '../types.js';
import { buildReport, type DirReport, type Report, type StoreReport } from '../report.js';
import { UsageError } from '../errors.js';
import { reconcileThrough } from '../engine/driver.js';
import { d1Driver } from './driver.js';
import type { D1Dir, D1Options } from './types.js';

export type { D1Like, D1StatementLike, D1Database, D1Dir, D1Options } from './types.js';

/** The identity of a database in reports. */
export function d1Id(binding: string): string {
  return `d1:${binding}`;
}

/** Reconciles every store's database of every tenant (like `stores up --json`); refusals are reported, not thrown. */
export async function reconcileD1(registry: Registry, dirs: readonly D1Dir[], options: D1Options = {}): Promise<Report> {
  return await runD1(registry, dirs, { ...options, mode: options.mode ?? 'up' });
}

/** Audits every store's database of every tenant without writing anything (like `stores check --json`). */
export async function checkD1(registry: Registry, dirs: readonly D1Dir[], options: Omit<D1Options, 'mode' | 'dryRun'> = {}): Promise<Report> {
  return await runD1(registry, dirs, { ...options, mode: 'check' });
}

async function runD1(registry: Registry, dirs: readonly D1Dir[], options: D1Options & { mode: NonNullable<D1Options['mode']> }): Promise<Report> {
  for (const d of dirs) {
    const unknown = Object.keys(d.databases).filter((n) => !registry.stores.some((s) => s.name === n));
    if (unknown.length > 0) throw new UsageError(`D1 tenant ${d.name} names ${unknown.map((n) => `store ${n}`).join(', ')}, which the registry (${registry.source}) does not have; its stores: ${registry.stores.map((s) => s.name).join(', ')}`);
  }
  const limit = pLimit(Math.max(1, options.concurrency ?? 8));
  const reports: DirReport[] = await Promise.all(
    dirs.map(async (d) => ({
      path: d1Id(d.name),
      stores: await Promise.all(registry.stores.map((store) => limit(() => one(store, d, options)))),
    })),
  );
  return buildReport(registry, reports, options.mode);
}

/** One store of one tenant: its database reconciled, or an error entry when none is bound. */
async function one(store: Store, dir: D1Dir, options: D1Options & { mode: NonNullable<D1Options['mode']> }): Promise<StoreReport> {
  const bound = dir.databases[store.name];
  if (!bound) {
    return {
      name: store.name,
      file: d1Id('(none)'),
      status: 'error',
      version: null,
      target: store.version,
      backup: null,
      message: `D1 tenant ${dir.name} binds no database for store ${store.name}; bind one (D1 databases are created with wrangler, not by stores), then run again`,
      ms: 0,
      ...(options.mode === 'check' ? {} : { action: 'refused' as const, from: null, to: null }),
    };
  }
  const id = d1Id(bound.binding);
  return await reconcileThrough(d1Driver, bound.db, named(store, id), id, options);
}

/** The store as the engine's messages name it: its file is the database's identity. */
function named(store: Store, id: string): Store {
  return { ...store, file: id };
}
