/**
 * One data dir: every store of the registry, one at a time, each in its own transaction.
 * Runs in the main thread or in a fleet worker.
 */
import path from 'node:path';
import { reconcileStore, type ReconcileOptions } from '../engine/reconcile.js';
import type { DirReport } from '../report.js';
import type { Registry } from '../registry/types.js';

/** Reconciles (or checks) every store of one data dir. Never throws for a bad file. */
export function runDir(registry: Registry, dir: string, options: ReconcileOptions): DirReport {
  const abs = path.resolve(dir);
  return { path: abs, stores: registry.stores.map((s) => reconcileStore(s, abs, options)) };
}
