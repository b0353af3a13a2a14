/**
 * The driver interface: what the pipeline needs from the place a store's database lives, so
 * that the engine (classify, plan, decide, render) never learns where that is. A driver supplies
 * the two edges — the facts in, one atomic, verified commit out — and the pipeline below does
 * the rest, the same way for every driver.
 *
 * Two drivers exist. The local-file driver (better-sqlite3) implements these edges
 * synchronously, in worker threads: `lookAt` (src/engine/look.ts) is its look and
 * `reconcileConnection` (src/engine/apply.ts) its commit, one transaction under the write lock;
 * src/engine/reconcile.ts runs the same look → decide → render over them. The D1 driver
 * (src/d1/driver.ts) implements this interface asynchronously, a database per call, many in
 * flight. A libSQL or Turso driver would implement it the same way, touching nothing here.
 */
import type Database from 'better-sqlite3';
import type { Store } from '../types.js';
import type { Mode, StoreReport } from '../report.js';
import type { Classification } from './classify.js';
import type { FileFacts } from './probe.js';
import type { Plan, PlanOptions } from './plan.js';
import { checkedReport, decideFirst, planTables, render, stepReports, type Decision } from './reconcile.js';

/** What a look found: the engine's facts and classification, and the schema to rehearse on. */
export interface DriverLook {
  readonly facts: FileFacts;
  readonly cls: Classification;
  /**
   * A connection holding the database's schema (a replica in `:memory:` for a remote
   * database): plans are rehearsed there before anything is sent. Null when unreadable.
   */
  readonly replica: Database.Database | null;
}

/** What came of a commit. */
export type CommitResult =
  | { readonly kind: 'committed' }
  /** Another writer changed the database since the look: nothing was written; look again. */
  | { readonly kind: 'changed' }
  /** Refused (a guard, the service): nothing was written; `reason` says why and what to do. */
  | { readonly kind: 'failed'; readonly reason: string };

/** A plan the driver cannot carry out (a JavaScript step on a service that runs SQL only). */
export class DriverRefusal extends Error {
  override readonly name = 'DriverRefusal';
}

/**
 * The edges of one place databases live. `H` is a handle to one database (a D1 binding);
 * `L` the driver's look (what its commit must find unchanged); `P` a plan made ready to send.
 */
export interface Driver<H, L extends DriverLook = DriverLook, P = unknown> {
  /** Reads the facts without writing a byte; never throws for one database. `id` names it in reports. */
  look(handle: H, store: Store, id: string, integrity: boolean): Promise<L>;
  /**
   * The plan in the driver's own terms, rehearsed on the look's replica: throws
   * {@link DriverRefusal} (or what SQLite throws, or the engine's VerifyError) when it cannot run.
   */
  prepare(look: L, store: Store, id: string, plan: Plan): P;
  /** Sends it as one atomic unit, verified inside it: nothing that fails verification commits. */
  commit(handle: H, look: L, store: Store, id: string, plan: Plan, prepared: P, now: Date): Promise<CommitResult>;
  /** Row counts of some tables (null for a table absent), for a dry run's report. */
  count(handle: H, tables: readonly string[]): Promise<Record<string, number | null>>;
  /** Releases what a look holds (its replica). */
  release(look: L): void;
}

export interface DriverOptions extends PlanOptions {
  readonly mode: Mode;
  readonly dryRun?: boolean;
  /** Clock for what a commit records (tests inject one). */
  readonly now?: () => Date;
}

function elapsed(t0: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - t0) / 1e4) / 100;
}

/** One store's database through a driver: look, decide, render. Never throws for one database. */
export async function reconcileThrough<H, L extends DriverLook, P>(driver: Driver<H, L, P>, handle: H, store: Store, id: string, options: DriverOptions): Promise<StoreReport> {
  const t0 = process.hrtime.bigint();
  // As for files: check, adopt and dry runs run quick_check in the look; up verifies in the commit.
  const integrity = options.mode !== 'up' || options.dryRun === true;
  const look = await driver.look(handle, store, id, integrity);
  try {
    if (options.mode === 'check') return checkedReport(store, id, look.cls, t0);
    return render(store, id, await decide(driver, handle, store, id, look, options, true), t0);
  } catch (err) {
    // Not expected (every step reports its own failure): still one entry, never a throw.
    return { ...checkedReport(store, id, look.cls, t0), status: 'error', action: 'refused', from: look.cls.version, to: look.cls.version, message: `${id}: ${(err as Error).message ?? String(err)}; nothing was changed`, ms: elapsed(t0) };
  } finally {
    driver.release(look);
  }
}

/** The engine's decision for a database looked at, with the driver's commit for the write. */
async function decide<H, L extends DriverLook, P>(driver: Driver<H, L, P>, handle: H, store: Store, id: string, look: L, options: DriverOptions, retry: boolean): Promise<Decision> {
  const found = look.cls;
  const first = decideFirst(store, found, look.facts, options);
  if (first.kind !== 'plan') return first;
  if (look.replica === null) return { kind: 'refused', found, status: found.status, reason: found.message };
  const p = first.plan;
  let prepared: P;
  try {
    prepared = driver.prepare(look, store, id, p);
  } catch (err) {
    const known = err instanceof DriverRefusal || (err as Error).name === 'VerifyError';
    return { kind: 'refused', found, status: found.status, reason: known ? (err as Error).message : `${id}: the plan fails when run on the database's schema in memory: ${(err as Error).message}; nothing was changed` };
  }
  if (options.dryRun) return { kind: 'planned', found, plan: p, steps: await stepsReport(driver, handle, p) };
  const result = await driver.commit(handle, look, store, id, p, prepared, (options.now ?? (() => new Date()))());
  if (result.kind === 'changed' && retry) return await again(driver, handle, store, id, look, options);
  if (result.kind !== 'committed') {
    const reason = result.kind === 'failed' ? result.reason : `${id} changed again while it was being reconciled; nothing was changed — run again`;
    return { kind: 'refused', found, status: found.status, reason };
  }
  return { kind: 'written', found, outcome: { classification: found, facts: look.facts, plan: p, refused: false, backup: null } };
}

/**
 * Another writer changed the database between the look and the commit: look again, once, and
 * act on what is there now (normally: current, made so by the other writer).
 */
async function again<H, L extends DriverLook, P>(driver: Driver<H, L, P>, handle: H, store: Store, id: string, first: L, options: DriverOptions): Promise<Decision> {
  const look = await driver.look(handle, store, id, true);
  try {
    if (look.cls.status === 'current') {
      return { kind: 'written', found: first.cls, outcome: { classification: look.cls, facts: look.facts, plan: null, refused: false, backup: null } };
    }
    return await decide(driver, handle, store, id, look, options, false);
  } finally {
    driver.release(look);
  }
}

/** A dry run's steps as reported, with the rows of the tables they name (counted through the driver). */
async function stepsReport<H, L extends DriverLook, P>(driver: Driver<H, L, P>, handle: H, p: Plan): Promise<NonNullable<StoreReport['plan']>> {
  return stepReports(p, await driver.count(handle, planTables(p)));
}
