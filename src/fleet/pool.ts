/**
 * A pool of fleet worker threads. p-limit bounds the data dirs in flight to the pool's size, so
 * a task always finds an idle worker; a worker that dies fails only its own task and is
 * replaced, so one bad directory never stops the others.
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import pLimit from 'p-limit';
import type { ReconcileOptions } from '../engine/reconcile.js';
import type { Registry } from '../types.js';
import type { DirReport, StoreReport } from '../report.js';
import { stopRequested, type StopFlag } from './run-dir.js';
import type { WorkerInit, WorkerReply, WorkerWaiting } from './worker.js';

/** A data dir never dispatched because the run was asked to stop. */
export class NotReachedError extends Error {
  override readonly name = 'NotReachedError';
  constructor(readonly dir: string) {
    super(`not reached: ${dir}`);
  }
}

/**
 * The worker's module. From the compiled package it sits beside this file; when this file runs
 * from its TypeScript source (tests), the compiled one in dist/ is used.
 */
export function workerModule(): URL {
  const here = fileURLToPath(import.meta.url);
  if (!here.endsWith('.ts')) return new URL('./worker.js', import.meta.url);
  const compiled = here.replace(/[\\/]src[\\/]fleet[\\/]pool\.ts$/, '/dist/fleet/worker.js');
  if (!fs.existsSync(compiled)) throw new Error(`fleet workers need the compiled package: ${compiled} is missing (run npm run build)`);
  return new URL(`file://${compiled}`);
}

/**
 * The worker handling a data dir died. `done` holds the entries of the stores it finished first
 * (committed or rolled back: a run that writes reports each store as soon as it is done).
 */
export class WorkerFailure extends Error {
  override readonly name = 'WorkerFailure';
  constructor(
    message: string,
    readonly done: readonly StoreReport[],
    /** The worker reached its heap limit (`ERR_WORKER_OUT_OF_MEMORY`). */
    readonly outOfMemory: boolean,
    /** That limit was the pool's cap on the old generation (see {@link heapLimits}). */
    readonly capped: boolean,
  ) {
    super(message);
  }
}

interface Task {
  readonly id: number;
  readonly dir: string;
  /** The entries of the stores the worker reported done so far. */
  readonly done: StoreReport[];
  readonly resolve: (r: DirReport) => void;
  readonly reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  /** Tasks posted to this worker, in order: the first is the one it is working on. */
  queue: Task[];
  started: boolean;
}

/**
 * A worker's heap limits (MB). Small limits make V8 collect early, so a worker's heap does not
 * grow with the length of the run (peak memory over 10,000 data dirs stays close to that over
 * 1,000). The old generation is capped only for a registry of SQL only, where no code but ours
 * runs in the worker: its live set is the registry, the bounded snapshot cache and one data
 * dir's work, so the cap is a base plus a margin proportional to the registry's size.
 */
function heapLimits(registry: Registry | undefined): { maxYoungGenerationSizeMb: number; maxOldGenerationSizeMb?: number } {
  if (!registry) return { maxYoungGenerationSizeMb: 2 };
  const registryMb = v8.serialize(registry).length / (1024 * 1024);
  return { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: Math.ceil(32 + 8 * registryMb) };
}

/**
 * The old-generation cap of a worker started ahead of its pool, before the registry is known:
 * {@link heapLimits}' cap for a registry of up to 1 MB (structured-cloned; the shipped one is
 * 0.12 MB). A pool whose registry needs more (or no cap: JavaScript steps) starts its own.
 */
const WAITING_OLD_MB = 40;
/** Workers started ahead of their pool, waiting for a registry (see {@link prestartWorkers}). */
const waiting: { readonly worker: Worker; readonly drop: () => void }[] = [];

/**
 * Starts `count` workers now, for a pool created soon after (a CLI run, while it loads the
 * registry and lists the data dirs): a worker takes 60-90 ms to start, the registry's loading
 * about 50, and the two overlap on two cores. The next pools take them (each told its registry
 * and options in its first message) where their heap limits allow; they do not keep the process
 * alive meanwhile, and {@link discardWaitingWorkers} stops those left.
 */
export function prestartWorkers(count: number): void {
  for (let i = 0; i < count; i++) {
    const worker = new Worker(workerModule(), {
      workerData: { waiting: true } satisfies WorkerWaiting,
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: WAITING_OLD_MB },
    });
    worker.unref();
    // One that fails meanwhile is simply not taken: a pool starts its own.
    const drop = () => {
      const k = waiting.findIndex((w) => w.worker === worker);
      if (k >= 0) waiting.splice(k, 1);
    };
    worker.once('error', drop);
    worker.once('exit', drop);
    waiting.push({ worker, drop });
  }
}

/** Stops the workers started ahead that no pool took. */
export async function discardWaitingWorkers(): Promise<void> {
  await Promise.all(waiting.splice(0).map((w) => w.worker.terminate()));
}

/** A waiting worker, if one is there and its cap suits a pool with heap limits `heap`. */
function takeWaiting(heap: ReturnType<typeof heapLimits>): Worker | null {
  if (heap.maxOldGenerationSizeMb === undefined || heap.maxOldGenerationSizeMb > WAITING_OLD_MB) return null;
  const w = waiting.shift();
  if (!w) return null;
  w.worker.off('error', w.drop).off('exit', w.drop);
  w.worker.ref();
  return w.worker;
}

/**
 * Data dirs queued per worker: the next one is already in the worker's mailbox when it finishes
 * one, so it never waits for the main thread (which may be busy with a data dir of its own).
 */
export const QUEUE_DEPTH = 2;

export class WorkerPool {
  readonly #limit: ReturnType<typeof pLimit>;
  readonly #slots: Slot[] = [];
  readonly #registryPath: string;
  readonly #registry: Registry | undefined;
  readonly #options: ReconcileOptions;
  readonly #stop: StopFlag | undefined;
  readonly #heap: ReturnType<typeof heapLimits>;
  #nextId = 0;
  #closed = false;
  /** Set when a worker cannot even start: every task then fails fast with this error. */
  #broken: Error | null = null;

  constructor(size: number, registry: Registry, options: ReconcileOptions, stop?: StopFlag) {
    this.#limit = pLimit(size * QUEUE_DEPTH);
    this.#stop = stop;
    this.#registryPath = registry.source;
    // Workers skip re-validating a registry whose steps are all SQL: it crosses as plain data.
    this.#registry = sqlOnly(registry) ? registry : undefined;
    this.#options = options;
    this.#heap = heapLimits(this.#registry);
    for (let i = 0; i < size; i++) this.#slots.push(this.#spawn());
  }

  #spawn(): Slot {
    const init: WorkerInit = { registryPath: this.#registryPath, registry: this.#registry, options: this.#options, stop: this.#stop };
    const started = takeWaiting(this.#heap);
    started?.postMessage(init);
    const worker = started ?? new Worker(workerModule(), { workerData: init, resourceLimits: this.#heap });
    const slot: Slot = { worker, ready: Promise.resolve(), queue: [], started: false };
    slot.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: unknown) => {
        if ((m as { ready?: boolean }).ready) {
          worker.off('message', onMessage);
          slot.started = true;
          resolve();
        }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`worker thread exited before it was ready (code ${code})`)));
    });
    slot.ready.catch(() => undefined);
    worker.on('message', (m: WorkerReply | { ready: true }) => {
      if ('ready' in m) return;
      const task = slot.queue[0];
      if (!task || task.id !== m.id) return;
      if ('stores' in m) {
        task.done.push(...m.stores);
        return;
      }
      slot.queue.shift();
      if (m.ok) task.resolve(m.result);
      else if (m.notReached) task.reject(new NotReachedError(task.dir));
      else task.reject(new Error(m.error));
    });
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      const i = this.#slots.indexOf(slot);
      if (i >= 0) this.#slots.splice(i, 1);
      // The task in progress fails; the ones queued behind it were never started.
      const [current, ...waiting] = slot.queue;
      slot.queue = [];
      const outOfMemory = (err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
      current?.reject(new WorkerFailure(err.message, current.done, outOfMemory, this.#heap.maxOldGenerationSizeMb !== undefined));
      if (this.#closed) {
        for (const t of waiting) t.reject(err);
        return;
      }
      // A worker that could not start will not start next time either: stop, don't respawn.
      if (!slot.started) {
        this.#broken ??= err;
        for (const t of waiting) t.reject(err);
        return;
      }
      // Replace the dead worker so the remaining work goes on, starting with what it had queued.
      const next = this.#spawn();
      this.#slots.push(next);
      for (const t of waiting) this.#post(next, t);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!this.#closed || slot.queue.length > 0) fail(new Error(`worker thread exited (code ${code})`));
    });
    return slot;
  }

  #post(slot: Slot, task: Task): void {
    slot.queue.push(task);
    void slot.ready.then(
      () => slot.worker.postMessage({ id: task.id, dir: task.dir }),
      () => undefined, // the slot's failure handler rejects its queue
    );
  }

  /** Resolves when the first worker is ready to take data dirs (rejects if none can start). */
  firstReady(): Promise<void> {
    return Promise.any(this.#slots.map((s) => s.ready));
  }

  /** Runs one data dir in a worker. Rejects when that worker fails; the pool goes on. */
  run(dir: string): Promise<DirReport> {
    return this.#limit(() => {
      if (stopRequested(this.#stop)) throw new NotReachedError(dir);
      if (this.#broken) throw this.#broken;
      // The worker with the shortest queue (p-limit keeps one below QUEUE_DEPTH).
      let slot: Slot | undefined;
      for (const s of this.#slots) if (!slot || s.queue.length < slot.queue.length) slot = s;
      if (!slot) throw this.#broken ?? new Error('no worker available');
      return new Promise<DirReport>((resolve, reject) => this.#post(slot, { id: this.#nextId++, dir, done: [], resolve, reject }));
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }
}

/** A registry whose steps are all SQL: it crosses threads as data, and may run in the main thread. */
export function sqlOnly(registry: Registry): boolean {
  return registry.stores.every((s) => s.migrations.every((m) => m.run === undefined));
}
