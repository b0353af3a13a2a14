/**
 * The public entry points that compose the layers: a registry is read and validated plainly
 * (registry/), then what each version must be is computed in memory (engine/expect.ts, composed
 * in load.ts); whole roots run through the same engine and give the same report as the CLI's
 * `--json`.
 */
import type { Registry } from './types.js';
import type { Report } from './report.js';
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

export { reconcileD1, checkD1, type D1Like, type D1StatementLike, type D1Database, type D1Dir, type D1Options } from './d1/index.js';
