/**
 * One data dir: every store of the registry, one at a time, each in its own transaction.
 * Runs in the main thread or in a fleet worker.
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildMissing, placeBuilt, reconcileStore, type BuiltStore, type ReconcileOptions } from '../engine/reconcile.js';
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

/**
 * The entry of a store left alone (the run was stopped before it, or the worker handling its data
 * dir died before it): checked, not changed.
 */
export function notReached(store: Store, dir: string, why = 'the run was interrupted before this store'): StoreReport {
  const r = reconcileStore(store, dir, { mode: 'check' });
  return { ...r, action: 'unchanged', from: r.version, to: r.version, message: `not reached: ${why} (${r.message})` };
}

const LEFTOVER = /\.backup-[0-9TZ]+\.partial$|^\..+\.stores-new-\d+-[a-z0-9]+(-journal|-wal|-shm)?$/;

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

/** Where a data dir's run starts and what it says after each store. */
export interface DirRunOptions {
  /** Stores already done (by a worker that died): the run goes on from the next one. */
  readonly done?: readonly StoreReport[];
  /** Called with each store's entry as soon as it is done (committed or rolled back), in registry order. */
  readonly onStore?: (r: StoreReport) => void;
  /** Yield to the event loop between stores (the main thread: a signal handler can run). */
  readonly stepwise?: boolean;
}

function runStore(s: Store, abs: string, options: ReconcileOptions, stop: StopFlag | undefined): StoreReport {
  return options.mode !== 'check' && stopRequested(stop) ? notReached(s, abs) : reconcileStore(s, abs, options);
}

/**
 * The missing store files at the head of the registry's order, for `up` to build and place
 * together (a fresh data dir: all of them): each built and committed under its temporary name,
 * one after the other, then placed at once, their fsyncs overlapping (one after the other, each
 * would wait for the disk alone). Their entries, in registry order.
 */
async function createLeading(stores: readonly Store[], abs: string, options: ReconcileOptions, stop: StopFlag | undefined): Promise<StoreReport[]> {
  if (options.mode !== 'up' || options.dryRun || options.create === false) return [];
  const slots: ({ readonly built: BuiltStore } | { readonly report: StoreReport })[] = [];
  for (const s of stores) {
    if (stopRequested(stop) || !absent(path.join(abs, s.file))) break;
    slots.push(buildMissing(s, abs, options));
  }
  const builds = slots.flatMap((x) => ('built' in x ? [x.built] : []));
  const placed = builds.length > 0 ? await placeBuilt(builds, options) : [];
  let k = 0;
  return slots.map((x) => ('built' in x ? placed[k++]! : x.report));
}

/** True when nothing stands at `file` (what else stands there, or cannot be read, the usual road reports). */
function absent(file: string): boolean {
  try {
    return fs.lstatSync(file, { throwIfNoEntry: false }) === undefined;
  } catch {
    return false;
  }
}

/** Reconciles (or checks) every store of one data dir, in registry order. Never throws for a bad file. */
export async function runDir(registry: Registry, dir: string, options: ReconcileOptions, stop?: StopFlag, run: DirRunOptions = {}): Promise<DirReport> {
  const abs = path.resolve(dir);
  const stores = [...(run.done ?? [])];
  const emit = (r: StoreReport) => {
    stores.push(r);
    run.onStore?.(r);
  };
  for (const r of await createLeading(registry.stores.slice(stores.length), abs, options, stop)) emit(r);
  for (const s of registry.stores.slice(stores.length)) {
    emit(runStore(s, abs, options, stop));
    if (run.stepwise) await new Promise((resolve) => setImmediate(resolve));
  }
  return dirReport(registry, abs, stores);
}
