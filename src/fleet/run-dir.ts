/**
 * One data dir: every store of the registry, one at a time, each in its own transaction.
 * Runs in the main thread or in a fleet worker.
 */
import fs from 'node:fs';
import path from 'node:path';
import { reconcileStore, type ReconcileOptions } from '../engine/reconcile.js';
import type { DirReport, StoreReport } from '../report.js';
import type { Registry, Store } from '../types.js';

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

const LEFTOVER = /\.backup-[0-9TZ]+\.partial$|^\..+\.stores-new-\d+-[a-z0-9]+(-journal)?$/;

/**
 * Files an interrupted run left in a data dir: backups that were being written
 * (`<file>.backup-<stamp>.partial`) and files that were being created
 * (`.<file>.stores-new-<pid>-<id>`). Never stores; reported so an operator can delete them.
 */
export function leftovers(registry: Registry, dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const files = registry.stores.map((s) => s.file);
  return names.filter((n) => LEFTOVER.test(n) && files.some((f) => n.startsWith(f) || n.startsWith(`.${f}`))).sort();
}

function dirReport(registry: Registry, abs: string, stores: DirReport['stores']): DirReport {
  const left = leftovers(registry, abs);
  return left.length > 0 ? { path: abs, stores, leftovers: left } : { path: abs, stores };
}

/** Reconciles (or checks) every store of one data dir. Never throws for a bad file. */
export function runDir(registry: Registry, dir: string, options: ReconcileOptions, stop?: StopFlag): DirReport {
  const abs = path.resolve(dir);
  return dirReport(
    registry,
    abs,
    registry.stores.map((s) => (options.mode !== 'check' && stopRequested(stop) ? notReached(s, abs, options) : reconcileStore(s, abs, options))),
  );
}

/** The same, yielding to the event loop between stores so a signal handler can run. */
export async function runDirStepwise(registry: Registry, dir: string, options: ReconcileOptions, stop?: StopFlag): Promise<DirReport> {
  const abs = path.resolve(dir);
  const stores: StoreReport[] = [];
  for (const s of registry.stores) {
    stores.push(options.mode !== 'check' && stopRequested(stop) ? notReached(s, abs, options) : reconcileStore(s, abs, options));
    await new Promise((resolve) => setImmediate(resolve));
  }
  return dirReport(registry, abs, stores);
}
