/**
 * One data dir: every store of the registry, one at a time, each in its own transaction.
 * Runs in the main thread or in a fleet worker.
 */
import path from 'node:path';
import { reconcileStore, type ReconcileOptions } from '../engine/reconcile.js';
import type { DirReport, StoreReport } from '../report.js';
import type { Registry, Store } from '../registry/types.js';

/**
 * A stop request shared between threads: one Int32 in a SharedArrayBuffer, set by the main
 * thread on SIGINT/SIGTERM, read between stores.
 */
export type StopFlag = Int32Array;

export function createStopFlag(): StopFlag {
  return new Int32Array(new SharedArrayBuffer(4));
}

export function stopRequested(flag: StopFlag | undefined): boolean {
  return flag !== undefined && Atomics.load(flag, 0) !== 0;
}

export function requestStop(flag: StopFlag): void {
  Atomics.store(flag, 0, 1);
}

/** The entry of a store left alone because the run was stopped before it: checked, not changed. */
export function notReached(store: Store, dir: string, options: ReconcileOptions): StoreReport {
  const r = reconcileStore(store, dir, { mode: 'check' });
  return { ...r, action: 'unchanged', from: r.version, to: r.version, message: `not reached: the run was interrupted before this store (${r.message})` };
}

/** Reconciles (or checks) every store of one data dir. Never throws for a bad file. */
export function runDir(registry: Registry, dir: string, options: ReconcileOptions, stop?: StopFlag): DirReport {
  const abs = path.resolve(dir);
  return {
    path: abs,
    stores: registry.stores.map((s) => (options.mode !== 'check' && stopRequested(stop) ? notReached(s, abs, options) : reconcileStore(s, abs, options))),
  };
}

/** The same, yielding to the event loop between stores so a signal handler can run. */
export async function runDirStepwise(registry: Registry, dir: string, options: ReconcileOptions, stop?: StopFlag): Promise<DirReport> {
  const abs = path.resolve(dir);
  const stores: StoreReport[] = [];
  for (const s of registry.stores) {
    stores.push(options.mode !== 'check' && stopRequested(stop) ? notReached(s, abs, options) : reconcileStore(s, abs, options));
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { path: abs, stores };
}
