/**
 * A pool of fleet worker threads. p-limit bounds the data dirs in flight to the pool's size, so
 * a task always finds an idle worker; a worker that dies fails only its own task and is
 * replaced, so one bad directory never stops the others.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import pLimit from 'p-limit';
import type { ReconcileOptions } from '../engine/reconcile.js';
import type { Registry } from '../registry/types.js';
import type { DirReport } from '../report.js';
import { stopRequested, type StopFlag } from './run-dir.js';
import type { WorkerReply } from './worker.js';

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

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  pending: { id: number; resolve: (r: DirReport) => void; reject: (e: Error) => void } | null;
  started: boolean;
}

export class WorkerPool {
  readonly #limit: ReturnType<typeof pLimit>;
  readonly #idle: Slot[] = [];
  readonly #all = new Set<Slot>();
  readonly #registryPath: string;
  readonly #registry: Registry | undefined;
  readonly #options: ReconcileOptions;
  readonly #stop: StopFlag | undefined;
  #nextId = 0;
  #closed = false;
  /** Set when a worker cannot even start: every task then fails fast with this error. */
  #broken: Error | null = null;

  constructor(size: number, registry: Registry, options: ReconcileOptions, stop?: StopFlag) {
    this.#limit = pLimit(size);
    this.#stop = stop;
    this.#registryPath = registry.source;
    // Workers skip re-validating a registry whose steps are all SQL: it crosses as plain data.
    this.#registry = registry.stores.every((s) => s.migrations.every((m) => m.run === undefined)) ? registry : undefined;
    this.#options = options;
    for (let i = 0; i < size; i++) this.#idle.push(this.#spawn());
  }

  #spawn(): Slot {
    const worker = new Worker(workerModule(), {
      workerData: { registryPath: this.#registryPath, registry: this.#registry, options: this.#options, stop: this.#stop },
      // A small young generation keeps each worker's heap from growing with the length of the run.
      resourceLimits: { maxYoungGenerationSizeMb: 8 },
    });
    const slot: Slot = { worker, ready: Promise.resolve(), pending: null, started: false };
    this.#all.add(slot);
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
      const p = slot.pending;
      if (!p || p.id !== m.id) return;
      slot.pending = null;
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(m.error));
    });
    const fail = (err: Error) => {
      this.#all.delete(slot);
      const p = slot.pending;
      slot.pending = null;
      p?.reject(err);
      const i = this.#idle.indexOf(slot);
      if (i >= 0) this.#idle.splice(i, 1);
      if (this.#closed) return;
      // A worker that could not start will not start next time either: stop, don't respawn.
      if (!slot.started) {
        this.#broken ??= err;
        return;
      }
      // Replace the dead worker so the remaining work goes on.
      this.#idle.push(this.#spawn());
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!this.#closed || slot.pending) fail(new Error(`worker thread exited (code ${code})`));
    });
    return slot;
  }

  /** Runs one data dir in a worker. Rejects when that worker fails; the pool goes on. */
  run(dir: string): Promise<DirReport> {
    return this.#limit(async () => {
      if (stopRequested(this.#stop)) throw new NotReachedError(dir);
      if (this.#broken) throw this.#broken;
      const slot = this.#idle.pop();
      if (!slot) throw this.#broken ?? new Error('no worker available');
      try {
        await slot.ready;
        return await new Promise<DirReport>((resolve, reject) => {
          slot.pending = { id: this.#nextId++, resolve, reject };
          slot.worker.postMessage({ id: slot.pending.id, dir });
        });
      } finally {
        if (this.#all.has(slot)) this.#idle.push(slot);
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#all].map((s) => s.worker.terminate()));
  }
}
