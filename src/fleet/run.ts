/**
 * Running a command over a fleet of data dirs: discovered under roots, reconciled in parallel
 * worker threads, every store of every dir reported (a `missing` one included), results in
 * sorted order. One bad file or directory never stops the others.
 */
import os from 'node:os';
import path from 'node:path';
import type { ReconcileOptions } from '../engine/reconcile.js';
import { describeRegistry, type DirReport, type Report, type StoreReport } from '../report.js';
import type { Registry } from '../types.js';
import { countDirs, discover, type DiscoveryProblem } from './discover.js';
import { NotReachedError, QUEUE_DEPTH, sqlOnly, WorkerFailure, WorkerPool } from './pool.js';
import { notReached, runDir, stopRequested, type StopFlag } from './run-dir.js';

export { runDir };

/** Fleets of up to this many data dirs are short runs (see runFleet). */
export const SHORT_RUN = 400;
/** Fleets of up to this many data dirs (of a registry of SQL only) run in this thread alone. */
const TINY_RUN = 20;

/** Progress of a fleet run, reported after each data dir. */
export interface FleetProgress {
  readonly dirsDone: number;
  readonly dirsTotal: number;
  readonly storesDone: number;
  readonly storesTotal: number;
  /** The data dir just finished. */
  readonly dir: DirReport;
}

export interface FleetOptions extends ReconcileOptions {
  /** Data dirs handled at once (default: the number of cores). 1 runs in this thread. */
  readonly concurrency?: number;
  /** Called after each data dir. */
  readonly onProgress?: (p: FleetProgress) => void;
  /** Called for each directory discovery could not read. */
  readonly onProblem?: (p: DiscoveryProblem) => void;
  /**
   * Set (see `requestStop`) to stop: stores in flight finish (commit or roll back), stores and
   * data dirs not started are left as they were and reported as not reached.
   */
  readonly stop?: StopFlag;
  /** Called with each data dir's report in sorted order, as soon as it and those before it are done. */
  readonly onDir?: (dir: DirReport) => void;
  /**
   * Keep every data dir in the returned report (default true). With false, `dirs` is empty and
   * only the summary is returned: for streaming huge fleets through `onDir` in bounded memory.
   */
  readonly retain?: boolean;
  /**
   * This thread reconciles data dirs from start to end beside `concurrency - 1` workers, however
   * long the run (a registry of SQL only). Default false: it does so in a short run (up to 400
   * dirs); in a longer one it takes dirs only until the first worker is ready, so that the long
   * run's garbage stays in the workers' capped heaps, not in the host's. The CLI sets it, and keeps
   * its own heap small with V8 flags (src/cli/heap.ts) that a library must not set on its host.
   */
  readonly shareThisThread?: boolean;
}

/** The data dirs named directly plus those discovered under the roots, without duplicates, sorted. */
export function listDirs(registry: Registry, dirs: readonly string[], roots: readonly string[], onProblem?: (p: DiscoveryProblem) => void): string[] {
  const all = new Set(dirs.map((d) => path.resolve(d)));
  for (const root of roots) for (const d of discover(registry, root, onProblem)) all.add(d);
  return [...all].sort();
}

/**
 * The workers to start ahead of a CLI run over the data dirs `dirs` and those under `roots`
 * (prestartWorkers), said before the registry is loaded and the roots are listed, from the named
 * dirs and the directories under the roots (an upper bound on the data dirs): those of a short
 * run beside this thread (one fewer than the concurrency), and none at concurrency 1, for 20 dirs
 * at most (this thread alone), or for more than SHORT_RUN. A long run keeps this thread's heap
 * small (src/cli/heap.ts), and a worker whose heap is set up while this thread loads the registry
 * lets its young generation grow (2 to 8 MB: V8 resets the flag meanwhile, and this thread
 * cannot set it again until it yields); its start is a small part of a long run anyway.
 */
export function workersAhead(dirs: readonly string[], roots: readonly string[], concurrency = defaultConcurrency()): number {
  if (concurrency <= 1 || dirs.length > SHORT_RUN) return 0;
  // Counted only as far as the answer needs: past SHORT_RUN in all, it is none.
  const most = dirs.length + countDirs(roots, SHORT_RUN + 1 - dirs.length);
  return most <= TINY_RUN || most > SHORT_RUN ? 0 : Math.min(concurrency, most) - 1;
}

/** The default concurrency: one worker per core. */
export function defaultConcurrency(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/**
 * The report of a data dir whose worker (or this thread's run) failed. A run that writes: the
 * stores the worker reported done as they were, the one it was on as an error (nothing known to
 * have changed), the rest not reached (checked, left alone). A check: every store an error.
 */
function failedDir(registry: Registry, dir: string, err: unknown, mode: ReconcileOptions['mode'], who = 'the worker handling this data dir'): DirReport {
  const done = err instanceof WorkerFailure ? err.done : [];
  const message = `${who} failed (${err instanceof Error ? err.message : String(err)}); nothing is known to have changed — run again, and report it if it repeats`;
  const failedOn = mode === 'check' ? -1 : done.length;
  const stores = registry.stores.map((s, i): StoreReport => {
    if (i < done.length) return done[i]!;
    if (failedOn >= 0 && i > failedOn) return notReached(s, dir, `${who} failed on ${registry.stores[failedOn]!.name} before this store`);
    return {
      name: s.name,
      file: path.join(dir, s.file),
      status: 'error',
      version: null,
      target: s.version,
      ...(mode === 'check' ? {} : { action: 'refused' as const, from: null, to: null }),
      backup: null,
      message,
      ms: 0,
    };
  });
  return { path: dir, stores };
}

/** Where a fleet run's results go (see collectResults). */
interface Results {
  /** Records data dir `i`'s report (null: nothing to report), releasing what is now in order. */
  done(i: number, r: DirReport | null): void;
  /** Records data dir `i` as not reached: a stop was requested before it started. */
  skip(i: number, dir: string): void;
  /** The data dirs kept (every one, unless `retain` is false) and the summary of those released. */
  report(mode: ReconcileOptions['mode']): Pick<Report, 'dirs' | 'summary'>;
}

/**
 * The results of a run over `total` data dirs. They arrive in any order; they are released
 * (counted, kept, handed to `onDir`) in sorted order, so that a stream of them reads like the
 * report, while progress is told as each one arrives.
 */
function collectResults(registry: Registry, total: number, options: FleetOptions): Results {
  const retain = options.retain !== false;
  const results: DirReport[] = [];
  const pending = new Map<number, DirReport | null>();
  let next = 0;
  const byStatus: Record<string, number> = {};
  const byAction: Record<string, number> = {};
  let emittedDirs = 0;
  let emittedStores = 0;
  const release = () => {
    while (pending.has(next)) {
      const r = pending.get(next)!;
      pending.delete(next);
      next++;
      if (!r) continue;
      emittedDirs++;
      for (const st of r.stores) {
        emittedStores++;
        byStatus[st.status] = (byStatus[st.status] ?? 0) + 1;
        if (st.action) byAction[st.action] = (byAction[st.action] ?? 0) + 1;
      }
      if (retain) results.push(r);
      options.onDir?.(r);
    }
  };
  let dirsDone = 0;
  const storesTotal = total * registry.stores.length;
  const skipped: string[] = [];
  const done = (i: number, r: DirReport | null) => {
    pending.set(i, r);
    release();
    if (!r) return;
    dirsDone++;
    options.onProgress?.({ dirsDone, dirsTotal: total, storesDone: dirsDone * registry.stores.length, storesTotal, dir: r });
  };
  const skip = (i: number, dir: string) => {
    skipped.push(dir);
    done(i, null);
  };
  const report = (mode: ReconcileOptions['mode']) => {
    const summary = {
      dirs: emittedDirs,
      stores: emittedStores,
      byStatus,
      ...(mode === 'check' ? {} : { byAction }),
      ...(skipped.length > 0 ? { notReached: skipped.sort() } : {}),
    };
    return { dirs: results, summary };
  };
  return { done, skip, report };
}

/** What the parts of one fleet run share: the sorted list, the next dir to take, the results. */
interface FleetRun {
  readonly registry: Registry;
  readonly options: FleetOptions;
  readonly list: readonly string[];
  /** The next data dir to take: this thread and the pool's feeders take them in order. */
  next: number;
  readonly results: Results;
}

/**
 * Runs `options.mode` over the given data dirs and the dirs discovered under `roots`.
 * Uses worker threads when the registry was loaded from a folder and there is more than one
 * dir; a registry built in code runs in this thread (its functions cannot cross threads).
 */
export async function runFleet(registry: Registry, dirs: readonly string[], roots: readonly string[], options: FleetOptions): Promise<Report> {
  const list = listDirs(registry, dirs, roots, options.onProblem);
  const concurrency = Math.max(1, Math.min(options.concurrency ?? defaultConcurrency(), list.length));
  const run: FleetRun = { registry, options, list, next: 0, results: collectResults(registry, list.length, options) };
  // A few data dirs take this thread less time than a worker takes to start (and to stop).
  if (concurrency <= 1 || registry.source === 'code' || (list.length <= TINY_RUN && sqlOnly(registry))) {
    await inThisThread(run, () => true);
  } else {
    await withWorkers(run, concurrency);
  }
  return { registry: describeRegistry(registry), ...run.results.report(options.mode) };
}

/** Reconciles data dirs in this thread, taking the next one while `more()` says so. */
async function inThisThread(run: FleetRun, more: () => boolean): Promise<void> {
  const { registry, options, list, results } = run;
  while (more() && run.next < list.length) {
    const i = run.next++;
    const dir = list[i]!;
    if (options.mode !== 'check' && stopRequested(options.stop)) {
      results.skip(i, dir);
      continue;
    }
    try {
      results.done(i, await runDir(registry, dir, options, options.stop, { stepwise: true }));
    } catch (err) {
      results.done(i, failedDir(registry, dir, err, options.mode, 'reconciling this data dir'));
    }
  }
}

/**
 * Runs the fleet in a pool of worker threads, and in this thread too for a registry of SQL only
 * (its steps cannot end the process). Starting workers costs tens of milliseconds each, and each
 * worker's code runs cold at first: a short run (or any, with shareThisThread) is done by this
 * thread beside one worker fewer, from start to end; a long one by every worker, this thread
 * taking data dirs only until the first worker is ready, so the long run's allocations stay in
 * the workers' capped heaps (peak memory does not grow with the fleet). A registry with
 * JavaScript steps runs only in the workers.
 */
async function withWorkers(run: FleetRun, concurrency: number): Promise<void> {
  const { registry, options, list } = run;
  const here = sqlOnly(registry);
  const short = here && (options.shareThisThread === true || list.length <= SHORT_RUN);
  const workers = short ? concurrency - 1 : concurrency;
  let workersReady = !here;
  // What a worker receives must cross threads: plain data only (no clock function).
  const plain: ReconcileOptions = { mode: options.mode, dryRun: options.dryRun, repair: options.repair, backup: options.backup, create: options.create };
  const pool = new WorkerPool(workers, registry, plain, options.mode === 'check' ? undefined : options.stop);
  pool.firstReady().then(
    () => (workersReady = true),
    () => (workersReady = true),
  );
  // This thread's share: a registry of SQL only; until the workers are ready, or to the end.
  const mainRun = here ? inThisThread(run, () => short || !workersReady) : Promise.resolve();
  try {
    // Feeders take the next data dir when their last one is done, so only the dirs in flight
    // exist as tasks (memory stays flat however long the list): QUEUE_DEPTH per worker.
    await Promise.all([mainRun, ...Array.from({ length: workers * QUEUE_DEPTH }, () => feedPool(run, pool, here ? mainRun : null))]);
  } finally {
    await pool.close();
  }
}

/**
 * One feeder of the pool: hands it the next data dir each time the last one is done, until none
 * is left. With `mainRun` (this thread takes data dirs too), it starts once a worker is ready or
 * this thread is done.
 */
async function feedPool(run: FleetRun, pool: WorkerPool, mainRun: Promise<void> | null): Promise<void> {
  const { registry, options, list, results } = run;
  // A data dir is taken for a worker only once one is ready: taken earlier, it would wait
  // for the worker's start while this thread may be done with all the others.
  if (mainRun) await Promise.race([pool.firstReady().catch(() => undefined), mainRun]);
  while (run.next < list.length) {
    const i = run.next++;
    const dir = list[i]!;
    try {
      results.done(i, await pool.run(dir));
    } catch (err) {
      if (err instanceof NotReachedError) {
        results.skip(i, dir);
      } else if (err instanceof WorkerFailure && err.outOfMemory && err.capped) {
        // A file too big for a worker's capped heap (a huge foreign schema, say) is no reason
        // for another status than at --concurrency 1: this thread, whose heap is not capped,
        // takes the rest of the dir (a registry of SQL only: its steps cannot end the process).
        results.done(i, await runDir(registry, dir, options, options.stop, { done: err.done, stepwise: true }).catch((e: unknown) => failedDir(registry, dir, e, options.mode, 'reconciling this data dir')));
      } else results.done(i, failedDir(registry, dir, err, options.mode));
    }
  }
}
