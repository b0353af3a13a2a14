/**
 * Running a command over data dirs: every store of every dir gets an entry, one bad file never
 * stops the others, and results come back in input order.
 */
import path from 'node:path';
import { reconcileStore, type ReconcileOptions } from '../engine/reconcile.js';
import { buildReport, type DirReport, type Report } from '../report.js';
import type { Registry } from '../registry/types.js';
import { discover, type DiscoveryProblem } from './discover.js';

export interface FleetOptions extends ReconcileOptions {
  /** Called after each data dir, for progress. */
  readonly onDir?: (dir: DirReport, done: number) => void;
  readonly onProblem?: (p: DiscoveryProblem) => void;
}

/** Reconciles (or checks) every store of one data dir, one store at a time. */
export function runDir(registry: Registry, dir: string, options: ReconcileOptions): DirReport {
  const abs = path.resolve(dir);
  return { path: abs, stores: registry.stores.map((s) => reconcileStore(s, abs, options)) };
}

/** The data dirs named directly plus those discovered under the roots, without duplicates, sorted. */
export function listDirs(registry: Registry, dirs: readonly string[], roots: readonly string[], onProblem?: (p: DiscoveryProblem) => void): string[] {
  const all = new Set(dirs.map((d) => path.resolve(d)));
  for (const root of roots) for (const d of discover(registry, root, onProblem)) all.add(d);
  return [...all].sort();
}

/** Runs `options.mode` over the given data dirs and roots and returns the report. */
export function runFleet(registry: Registry, dirs: readonly string[], roots: readonly string[], options: FleetOptions): Report {
  const list = listDirs(registry, dirs, roots, options.onProblem);
  const out: DirReport[] = [];
  for (const d of list) {
    const r = runDir(registry, d, options);
    out.push(r);
    options.onDir?.(r, out.length);
  }
  return buildReport(registry, out, options.mode);
}
