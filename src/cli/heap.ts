/**
 * The CLI's V8 heap settings (see README, peak memory). The CLI owns its process, so it may set
 * V8's flags; the library never touches a host's.
 */
import v8 from 'node:v8';
import type { Worker } from 'node:worker_threads';

/**
 * The young generation keeps the size it has at start-up: V8 would otherwise double its new
 * space (up to 32 MB on this Node) once enough has survived its scavenges, for as long as the
 * process lives.
 */
export const HEAP_FLAGS = ['--semi-space-growth-factor=1'] as const;

/**
 * Sets {@link HEAP_FLAGS} now, and again once each worker thread is up: V8 raises
 * `--semi-space-growth-factor` to at least 2 whenever it configures a new heap (so the flag on
 * node's command line never holds), and a worker's heap is configured in the worker's own thread
 * after `new Worker()` returns (on a busy machine, after the `worker` event too), before the
 * worker is `online`. Without this, this thread's new space grew to 32 MB again from the pool's
 * first worker on (test/heap.test.ts).
 */
export function keepHeapsSmall(): void {
  const apply = () => {
    for (const flag of HEAP_FLAGS) v8.setFlagsFromString(flag);
  };
  apply();
  process.on('worker', (worker: Worker) => worker.once('online', apply));
}
