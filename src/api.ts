/**
 * The public entry points that compose the layers: a registry is read and validated plainly
 * (registry/), then what each version must be is computed in memory (engine/expect.ts, composed
 * in load.ts); whole roots run through the same engine and give the same report as the CLI's
 * `--json`.
 */
import type { Registry } from './types.js';
import type { Report } from './report.js';
import type { D1Dir, D1Options } from './d1/index.js';
import { runFleet, type FleetOptions } from './fleet/run.js';

export { createRegistry, loadRegistry, type CacheOption, type LoadOptions } from './load.js';

export interface FleetRunOptions extends Omit<FleetOptions, 'mode'> {
  /** Data dirs named directly (besides those discovered under the roots). */
  readonly dirs?: readonly string[];
}

/** Audits every data dir under `roots` without writing anything (like `stores check --json`). */
export async function checkFleet(registry: Registry, roots: readonly string[], options: FleetRunOptions = {}): Promise<Report> {
  return await runFleet(registry, options.dirs ?? [], roots, { ...options, mode: 'check' });
}

/** Reconciles every data dir under `roots` (like `stores up --json`); refusals are reported, not thrown. */
export async function reconcileFleet(registry: Registry, roots: readonly string[], options: FleetRunOptions = {}): Promise<Report> {
  return await runFleet(registry, options.dirs ?? [], roots, { ...options, mode: 'up' });
}

export type { D1Like, D1StatementLike, D1Database, D1Dir, D1Options } from './d1/index.js';

// The D1 driver is loaded on its first call: a host that opens files pays nothing for it.

/** Reconciles every store's D1 database of every tenant (like `stores up --d1 … --json`); refusals are reported, not thrown. */
export async function reconcileD1(registry: Registry, dirs: readonly D1Dir[], options: D1Options = {}): Promise<Report> {
  return await (await import('./d1/index.js')).reconcileD1(registry, dirs, options);
}

/** Audits every store's D1 database of every tenant without writing anything (like `stores check --d1 … --json`). */
export async function checkD1(registry: Registry, dirs: readonly D1Dir[], options: Omit<D1Options, 'mode' | 'dryRun'> = {}): Promise<Report> {
  return await (await import('./d1/index.js')).checkD1(registry, dirs, options);
}
