/**
 * A fleet worker thread: loads the registry from its folder once, then reconciles one data dir
 * per message. better-sqlite3 is synchronous, so parallelism across data dirs needs threads
 * (https://github.com/WiseLibs/better-sqlite3/blob/master/docs/threads.md).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Registry } from '../types.js';
import type { ReconcileOptions } from '../engine/reconcile.js';
import type { DirReport, StoreReport } from '../report.js';
import { runDir, stopRequested, type StopFlag } from './run-dir.js';

export interface WorkerTask {
  readonly id: number;
  readonly dir: string;
}

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly result: DirReport }
  | { readonly id: number; readonly ok: false; readonly notReached?: false; readonly error: string }
  /** The run was asked to stop before this data dir was started: it was left alone. */
  | { readonly id: number; readonly ok: false; readonly notReached: true }
  /**
   * Stores of the data dir done (committed or rolled back) since the last such message, sent as
   * soon as one of them changed something (or took a backup) when the run writes: if the worker
   * dies later in the dir, what it committed is still reported. Stores left unchanged wait for
   * the next such message or the dir's result: a message per store costs about as much as
   * looking at a current file.
   */
  | { readonly id: number; readonly stores: readonly StoreReport[] };

/** What a worker is told at its start: in its workerData, or (a worker started ahead of its pool) in its first message. */
export interface WorkerInit {
  readonly registryPath: string;
  readonly registry?: Registry;
  readonly options: ReconcileOptions;
  readonly stop?: StopFlag;
}

/** The workerData of a worker started ahead of its pool (see prestartWorkers): it waits for its {@link WorkerInit}. */
export interface WorkerWaiting {
  readonly waiting: true;
}

const data = workerData as WorkerInit | WorkerWaiting;
const init = 'waiting' in data ? await new Promise<WorkerInit>((resolve) => parentPort!.once('message', resolve)) : data;
const { registryPath, registry: given, options, stop } = init;
// A registry of SQL only arrives validated (structured-cloned); one with JavaScript steps is
// loaded again from its folder, since functions cannot cross threads. The loader is imported
// only then: its modules are a quarter of what a worker loads before it is ready.
const registry = given ?? (await (await import('../load.js')).loadRegistry(registryPath));
// Only a run that writes reports store by store (a check has nothing committed to lose).
const writes = options.mode !== 'check' && options.dryRun !== true;

async function handle(task: WorkerTask): Promise<WorkerReply> {
  // A data dir queued before the stop request and not started yet is not reached.
  if (options.mode !== 'check' && stopRequested(stop)) return { id: task.id, ok: false, notReached: true };
  try {
    const unsent: StoreReport[] = [];
    const onStore = (r: StoreReport) => {
      unsent.push(r);
      if (r.action === 'unchanged' && r.backup === null) return;
      parentPort!.postMessage({ id: task.id, stores: unsent.splice(0) } satisfies WorkerReply);
    };
    return { id: task.id, ok: true, result: await runDir(registry, task.dir, options, stop, writes ? { onStore } : {}) };
  } catch (err) {
    return { id: task.id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

// One data dir at a time, in the order they came (a dir's run may wait for its fsyncs): the pool
// reads each reply as the one of the first dir it queued here.
let queue: Promise<void> = Promise.resolve();
parentPort!.on('message', (task: WorkerTask) => {
  queue = queue
    .then(async () => parentPort!.postMessage(await handle(task)))
    .catch((err: unknown) => {
      // As an exception in a message handler would: the worker dies, and the pool reports its dir.
      setImmediate(() => {
        throw err;
      });
    });
});
parentPort!.postMessage({ ready: true });
