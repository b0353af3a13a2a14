/**
 * The CLI's V8 heap settings (see README, peak memory). The CLI owns its process, so it may set
 * V8's flags; the library never touches a host's. They are process-wide: the workers' heaps
 * (capped by the pool) follow them too.
 */
import v8 from 'node:v8';
import type { Worker } from 'node:worker_threads';

/**
 * For start-up and for a long fleet run, in which this thread reconciles data dirs from start to
 * end (`shareThisThread`) and its garbage must not grow its heap with the fleet:
 * - the young generation keeps the size it has at start-up: V8 would otherwise double its new
 *   space (up to 32 MB on this Node) once enough has survived its scavenges;
 * - the old generation grows by a fixed 30 % after each full collection instead of V8's dynamic
 *   factor (up to 4× for a small heap), so that what the scavenges promoted is collected before
 *   the heap has doubled.
 */
export const SMALL_HEAP = ['--semi-space-growth-factor=1', '--heap-growing-percent=30'] as const;
/** V8's own settings (Node 20), for a short run: under a second, where speed matters more than a few MB. */
export const V8_DEFAULT_HEAP = ['--semi-space-growth-factor=2', '--heap-growing-percent=0'] as const;

let flags: readonly string[] = SMALL_HEAP;
const apply = () => {
  for (const flag of flags) v8.setFlagsFromString(flag);
};

/**
 * Sets {@link SMALL_HEAP} now, and the flags of the moment again while each worker thread starts:
 * V8 raises `--semi-space-growth-factor` to at least 2 whenever it configures a new heap (so the
 * flag on node's command line never holds), and a worker's heap is configured in the worker's own
 * thread after `new Worker()` returns (on a busy machine, after the `worker` event too), tens of
 * milliseconds before the worker is `online`. This thread may be reconciling data dirs meanwhile
 * (`shareThisThread`): set again only at `online`, the flag let its new space double once or
 * twice in that window (2 to 8 MB). So from the `worker` event to `online` (or the worker's
 * exit) it is set again every millisecond this thread's event loop turns (it does between
 * stores), and once more at `online`. Without this, this thread's new space grew to 32 MB again
 * from the pool's first worker on (test/heap.test.ts).
 */
export function keepHeapsSmall(): void {
  apply();
  process.on('worker', (worker: Worker) => {
    const timer = setInterval(apply, 1);
    timer.unref();
    worker.once('online', () => {
      clearInterval(timer);
      apply();
    });
    worker.once('exit', () => clearInterval(timer));
  });
}

/** The heap settings for a fleet run: small for a long one (over SHORT_RUN data dirs), V8's own for a short one. */
export function heapForRun(long: boolean): void {
  flags = long ? SMALL_HEAP : V8_DEFAULT_HEAP;
  apply();
}
