/**
 * A pool of fleet worker threads. p-limit bounds the data dirs in flight to the pool's size, so
 * a task always finds an idle worker; a worker that dies fails only its own task and is
 * replaced, so one bad directory never stops the others.
 */
import { Worker } from 'node:worker_threads';
import pLimit from 'p-limit';
import type { ReconcileOptions } from '../engine/reconcile.js';
import type { DirReport } from '../report.js';
import type { WorkerReply } from './worker.js';

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  pending: { id: number; resolve: (r: DirReport) => void; reject: (e: Error) => void } | null;
}

export class WorkerPool {
  readonly #limit: ReturnType<typeof pLimit>;
  readonly #idle: Slot[] = [];
  readonly #all = new Set<Slot>();
  readonly #registryPath: string;
  readonly #options: ReconcileOptions;
  #nextId = 0;
  #closed = false;

  constructor(size: number, registryPath: string, options: ReconcileOptions) {
    this.#limit = pLimit(size);
    this.#registryPath = registryPath;
    this.#options = options;
    for (let i = 0; i < size; i++) this.#idle.push(this.#spawn());
  }

  #spawn(): Slot {
    const worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: { registryPath: this.#registryPath, options: this.#options },
    });
    const slot: Slot = { worker, ready: Promise.resolve(), pending: null };
    this.#all.add(slot);
    slot.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: unknown) => {
        if ((m as { ready?: boolean }).ready) {
          worker.off('message', onMessage);
          resolve();
        }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
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
      // Replace the dead worker so the remaining work goes on.
      const i = this.#idle.indexOf(slot);
      if (i >= 0) this.#idle.splice(i, 1);
      if (!this.#closed) this.#idle.push(this.#spawn());
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
      const slot = this.#idle.pop()!;
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
