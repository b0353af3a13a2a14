/**
 * One store file, reconciled in isolation: plain data in (store, data dir, mode, options),
 * a {@link StoreReport} out. The CLI and the fleet runner call this per store; it never throws
 * for a bad file. The pipeline: look (probe and classify, once) → {@link decide} (plan, once;
 * refuse, plan or write) → a {@link Decision}, plain data → {@link render} (the report entry).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { RefusedStatus, Status } from '../errors.js';
import { isRefusedStatus, type Mode, type StoreReport } from '../report.js';
import type { Store } from '../types.js';
import { classify, type Classification } from './classify.js';
import { buildFresh, createFresh, placeFreshTogether, reconcileConnection, runPlan, type ApplyOptions, type Decided, type Outcome } from './apply.js';
import { DataError, type DataFinding } from './data-check.js';
import { plan as makePlan, type Plan, type PlanOptions } from './plan.js';
import { assertSameFile, busyTimeout, holdsExclusively, openForProbe, openPlainFile, statFile, statLight, unreadFacts, type FileFacts } from './probe.js';
import { lookAt } from './look.js';
import { quoteIdent } from '../sql/tokens.js';

export interface ReconcileOptions extends ApplyOptions {
  /** `check` reads only; `up` reconciles; `adopt` reconciles `legacy` files only. */
  readonly mode: Mode;
  /** Plan, print, write nothing. */
  readonly dryRun?: boolean;
  /** Create missing store files (default true); with false a missing store is reported, not created. */
  readonly create?: boolean;
}

function elapsed(t0: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - t0) / 1e4) / 100;
}

function planReport(p: Plan, file: string, store: Store, data: readonly (readonly DataFinding[] | undefined)[] = []): NonNullable<StoreReport['plan']> {
  return stepReports(p, countRows(file, store, planTables(p)), data);
}

/** The tables a plan's steps name (whose rows a dry run counts). */
export function planTables(p: Plan): string[] {
  return [...new Set(p.steps.flatMap((s) => s.tables ?? []))];
}

/** A plan's steps as a report gives them: with the rows of the tables each names, and what a rehearsal found. */
export function stepReports(p: Plan, counts: Readonly<Record<string, number | null>>, data: readonly (readonly DataFinding[] | undefined)[] = []): NonNullable<StoreReport['plan']> {
  return p.steps.map((s, i) => ({
    kind: s.kind,
    sql: s.sql,
    comment: s.comment,
    source: s.source,
    ...(s.destructive ? { destructive: true } : {}),
    ...(s.tables && s.tables.length > 0 ? { rows: Object.fromEntries(s.tables.map((t) => [t, counts[t] ?? null])) } : {}),
    ...(data[i] !== undefined ? { data: data[i] } : {}),
  }));
}

/**
 * A dry run of a plan on the file's rows: the steps run on an in-memory copy of the file (the
 * file is only read), as `up` would run them, counting what each does to the rows. Returns the
 * counts by step and the refusal `up` would meet (null when none).
 */
function rehearse(file: string, store: Store, p: Plan): { data: (readonly DataFinding[] | undefined)[]; refusal: string | null } {
  const data: (readonly DataFinding[] | undefined)[] = [];
  if (!p.steps.some((s) => s.migration?.sql !== undefined)) return { data, refusal: null };
  let source: Database.Database | null = null;
  let copy: Database.Database | null = null;
  try {
    source = openForProbe(statFile(file), store);
    if (!source) return { data, refusal: null };
    copy = new Database(source.serialize());
    source.close();
    source = null;
    copy.pragma('foreign_keys = OFF');
    copy.pragma('legacy_alter_table = OFF');
    copy.exec('BEGIN');
    runPlan(copy, store, p, data);
    return { data, refusal: null };
  } catch (err) {
    if (err instanceof DataError) return { data, refusal: err.message };
    return { data, refusal: `${store.file}: the plan fails on a copy of the file: ${(err as Error).message}; nothing was changed` };
  } finally {
    source?.close();
    copy?.close();
  }
}

/** Row counts of some tables, read without side effects (null for a table absent then). */
function countRows(file: string, store: Store, tables: readonly string[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  if (tables.length === 0) return out;
  let db: Database.Database | null = null;
  try {
    db = openForProbe(statFile(file), store);
    for (const t of tables) {
      try {
        out[t] = db ? ((db.prepare(`SELECT count(*) AS n FROM ${quoteIdent(t)}`).get() as { n: number }).n) : null;
      } catch {
        out[t] = null; // the table appears only in an earlier step of the plan
      }
    }
  } catch {
    // Counting is informative; a file that cannot be read was classified already.
  } finally {
    db?.close();
  }
  return out;
}

/** The entry of a store looked at and left alone (what `check` reports). */
export function checkedReport(store: Store, file: string, cls: Classification, t0: bigint): StoreReport {
  return {
    name: store.name,
    file,
    status: cls.status,
    version: cls.version,
    target: store.version,
    backup: null,
    message: cls.message,
    ms: elapsed(t0),
    ...(cls.changes && cls.changes.length > 0 ? { changes: cls.changes } : {}),
  };
}

/**
 * What a command decided for a store file it looked at, and what came of it: plain data (no
 * connection, no function). {@link render} turns it into the report entry: reconcileStore does
 * for the CLI and the fleet, openStores for its report (and throws for a refusal).
 */
export type Decision =
  /** Nothing to do: the file is current, or not this command's business (`note` says why). */
  | { readonly kind: 'unchanged'; readonly found: Classification; readonly note?: string }
  /** Refused without a write: `status` is the one to report (as found, or what stood in the way). */
  | { readonly kind: 'refused'; readonly found: Classification; readonly status: Status; readonly reason: string; readonly steps?: NonNullable<StoreReport['plan']> }
  /** A dry run: the plan, and its steps as reported (with the row counts of destructive ones). */
  | { readonly kind: 'planned'; readonly found: Classification; readonly plan: Plan; readonly steps: NonNullable<StoreReport['plan']> }
  /** A write was attempted: what happened under the write lock (done, refused, or current meanwhile). */
  | { readonly kind: 'written'; readonly found: Classification; readonly outcome: Outcome };

/** The refusal a decision stands for (null when it is none), with the refused status to report. */
export function refusalIn(d: Decision): { readonly status: RefusedStatus; readonly reason: string } | null {
  const asRefused = (s: Status): RefusedStatus => (isRefusedStatus(s) ? (s as RefusedStatus) : 'error');
  if (d.kind === 'refused') return { status: asRefused(d.status), reason: d.reason };
  if (d.kind === 'written' && d.outcome.refused) return { status: asRefused(d.outcome.classification.status), reason: d.outcome.reason ?? d.outcome.classification.message };
  return null;
}

/** The report entry of a decision (status: as found before acting). */
export function render(store: Store, file: string, d: Decision, t0: bigint): StoreReport {
  const r = checkedReport(store, file, d.found, t0);
  const stay = { from: d.found.version, to: d.found.version };
  switch (d.kind) {
    case 'unchanged':
      return { ...r, action: 'unchanged', ...stay, ...(d.note ? { message: `${r.message} (${d.note})` } : {}) };
    case 'refused':
      return { ...r, status: d.status, action: 'refused', ...stay, message: d.reason, ...(d.steps ? { plan: d.steps } : {}) };
    case 'planned':
      return { ...r, action: 'planned', from: d.found.version, to: store.version, plan: d.steps };
    case 'written':
      return writtenReport(store, r, d.outcome);
  }
}

function writtenReport(store: Store, r: StoreReport, outcome: Outcome): StoreReport {
  const stay = { from: r.version, to: r.version };
  if (outcome.plan) {
    const p = outcome.plan;
    const did = { created: 'created', initialized: 'initialized', migrated: 'migrated', adopted: 'adopted', repaired: 'repaired' }[p.action];
    return {
      ...r,
      action: p.action,
      from: outcome.classification.version ?? p.from,
      to: p.to,
      backup: outcome.backup,
      message: `${did} v${p.to}${p.action === 'migrated' ? ` from v${p.from}` : ''}${outcome.backup ? `; backup: ${outcome.backup} (a full copy of the file, taken before the first step)` : ''}`,
    };
  }
  if (outcome.refused) {
    const changes = outcome.classification.changes;
    // Refused under the write lock for a reason of its own (locked, changed meanwhile): report that status.
    const status = isRefusedStatus(outcome.classification.status) ? outcome.classification.status : r.status;
    return {
      ...r,
      status,
      action: 'refused',
      ...stay,
      message: outcome.reason ?? outcome.classification.message,
      ...(changes && changes.length > 0 ? { changes } : {}),
    };
  }
  return { ...r, action: 'unchanged', ...stay, message: `${store.file} was made current by another process meanwhile` };
}

/** Reconciles (or checks, or plans) one store of one data dir: look, decide, render. */
export function reconcileStore(store: Store, dir: string, options: ReconcileOptions): StoreReport {
  const t0 = process.hrtime.bigint();
  const file = path.resolve(dir, store.file);
  // check, adopt and dry runs run quick_check on every file; up on the files it changes (under the lock).
  const integrity = options.mode !== 'up' || options.dryRun === true;
  if (options.mode === 'check' || options.dryRun) {
    // Read-only. A plain file (no pending -wal, no journal) is read like up reads it, through a
    // connection that only reads and then closes (SQLite removes any -wal/-shm it created);
    // anything else through the read-only probe. A hot journal is reported, never rolled back.
    const look = lookAt(store, file, { integrity, readOnly: true, exclusive: true });
    look.db?.close();
    if (options.mode === 'check') return checkedReport(store, file, look.cls, t0);
    return render(store, file, decide(store, file, look.cls, look.facts, null, options), t0);
  }
  // up/adopt: one read-write connection for the look and, if needed, the write.
  const look = lookAt(store, file, { integrity, exclusive: true });
  try {
    return render(store, file, decide(store, file, look.cls, look.facts, look.db, options), t0);
  } finally {
    look.db?.close();
  }
}

/**
 * Makes the look's connection ready to carry the write. An ordinary connection is ready. One in exclusive locking mode on a WAL file is too: its
 * exclusive lock is already the write lock (nobody can read or write the file meanwhile, so the
 * facts stay true). On a rollback-journal file the exclusive mode's lasting shared lock would make
 * two concurrent writers wait on each other (each holding it while waiting for the other's to go),
 * and in that mode SQLite keeps the journal file after each commit instead of deleting it: the
 * connection goes back to the normal mode, whose next read releases the lock
 * (https://www.sqlite.org/pragma.html#pragma_locking_mode); `data_version` then tells the write
 * whether anyone committed since the look, as on any connection.
 */
export function readyForWrite(db: Database.Database, store: Store): void {
  if (db.pragma('locking_mode', { simple: true }) !== 'exclusive') return;
  if (!holdsExclusively(db)) {
    db.pragma('locking_mode = NORMAL');
    db.prepare('SELECT 1 FROM sqlite_schema LIMIT 1').get(); // the read that releases the lock
  }
  db.pragma(`busy_timeout = ${busyTimeout(store)}`); // the look tried its lock without waiting
}

/**
 * What every command decides before it writes, whatever the database is (a file, or another
 * driver's: src/engine/driver.ts): nothing (current, or not this command's business), a refusal
 * (no plan can make it current), or the plan to carry out.
 */
export function decideFirst(store: Store, cls: Classification, facts: FileFacts, options: { readonly mode: Mode; readonly create?: boolean } & PlanOptions): Decision | { readonly kind: 'plan'; readonly plan: Plan } {
  const found = cls;
  if (cls.status === 'current') return { kind: 'unchanged', found };
  if (cls.status === 'missing' && options.create === false && options.mode === 'up') {
    return { kind: 'unchanged', found, note: 'not created: creating is turned off' };
  }
  if (options.mode === 'adopt' && cls.status !== 'legacy') {
    if (isRefusedStatus(cls.status)) return { kind: 'refused', found, status: cls.status, reason: cls.message };
    return { kind: 'unchanged', found, note: 'adopt handles legacy files only; run up' };
  }
  const planned = makePlan(cls, store, facts, options);
  if ('none' in planned) return { kind: 'refused', found, status: cls.status, reason: planned.reason };
  return { kind: 'plan', plan: planned.plan };
}

/**
 * What a command does with a file it has looked at: nothing (current, or not its business),
 * refuse, plan (dry run), or write. The classification and the plan made here are the ones the
 * write runs (worked out again under the write lock only if the file changed meanwhile). `db` is
 * the look's connection (it stays open: the caller closes it); without one, a connection is
 * opened for the write and closed after.
 */
export function decide(store: Store, file: string, cls: Classification, facts: FileFacts, db: Database.Database | null, options: ReconcileOptions): Decision {
  const first = decideFirst(store, cls, facts, options);
  if (first.kind !== 'plan') return first;
  const found = cls;
  const planned = first;
  if (options.dryRun) {
    const rehearsal = rehearse(file, store, planned.plan);
    const steps = planReport(planned.plan, file, store, rehearsal.data);
    if (rehearsal.refusal !== null) return { kind: 'refused', found, status: cls.status, reason: rehearsal.refusal, steps };
    return { kind: 'planned', found, plan: planned.plan, steps };
  }
  return write(store, file, { facts, classification: cls, plan: planned.plan }, options, db);
}

function write(store: Store, file: string, decided: Omit<Decided, 'sameConnection'>, options: ReconcileOptions, open: Database.Database | null): Decision {
  const { classification: found, facts, plan: p } = decided;
  if (found.status === 'missing') {
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      if (createFresh(file, store, p)) return { kind: 'written', found, outcome: { classification: found, facts, plan: p, refused: false, backup: null } };
    } catch (err) {
      return cannotCreate(found, file, err);
    }
    // Another process created it first: reconcile what is there now (normally: current).
  }
  // The look's connection carries the write; should it fail to get ready, or the name no longer
  // hold the file it opened (renamed over since the look: SQLite refuses to write a moved file), a
  // connection of its own does.
  let carrier = open;
  if (carrier) {
    try {
      readyForWrite(carrier, store);
      assertSameFile(facts);
    } catch {
      carrier.close(); // closing it again after (the caller does) is harmless
      carrier = null;
    }
  }
  let db: Database.Database;
  try {
    db = carrier ?? openPlainFile(file, { fileMustExist: true, timeout: busyTimeout(store) });
  } catch (err) {
    const now = (err as { code?: string }).code === 'ESTORECHANGED' ? statLight(file) : null;
    if (now && (now.link || now.kind !== 'file')) {
      // A symbolic link (or something else) took the file's place since the look: say what is there now.
      return { kind: 'refused', found, status: 'error', reason: classify(unreadFacts(now, null), store).message };
    }
    return { kind: 'refused', found, status: found.status, reason: `cannot open ${file} for writing: ${(err as Error).message}; fix the cause (permissions, read-only media), then run up again` };
  }
  try {
    const outcome = reconcileConnection(db, carrier ? facts : statFile(file), store, options, { ...decided, sameConnection: carrier !== null });
    return { kind: 'written', found, outcome };
  } finally {
    if (!carrier) db.close();
  }
}

/** A missing store file `up` built under its temporary name and has yet to place (see {@link buildMissing}). */
export interface BuiltStore {
  readonly store: Store;
  readonly dir: string;
  readonly file: string;
  readonly tmp: string;
  readonly found: Classification;
  readonly facts: FileFacts;
  readonly plan: Plan;
  readonly t0: bigint;
}

/**
 * `up` on a store file that is missing, up to the build: looked at and planned as by
 * {@link reconcileStore}, then built and committed under its temporary name. Returns the build,
 * to be placed together with the other missing stores of its data dir ({@link placeBuilt}), or the
 * store's entry when there is nothing to build (not missing after all, creating turned off, the
 * build failed).
 */
export function buildMissing(store: Store, dir: string, options: ReconcileOptions): { readonly built: BuiltStore } | { readonly report: StoreReport } {
  const t0 = process.hrtime.bigint();
  const file = path.resolve(dir, store.file);
  const look = lookAt(store, file, { exclusive: true });
  if (look.cls.status !== 'missing' || options.mode !== 'up' || options.dryRun) {
    look.db?.close();
    return { report: reconcileStore(store, dir, options) };
  }
  const first = decideFirst(store, look.cls, look.facts, options);
  if (first.kind !== 'plan') return { report: render(store, file, first, t0) };
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = buildFresh(file, store, first.plan);
    return { built: { store, dir, file, tmp, found: look.cls, facts: look.facts, plan: first.plan, t0 } };
  } catch (err) {
    return { report: render(store, file, cannotCreate(look.cls, file, err), t0) };
  }
}

function cannotCreate(found: Classification, file: string, err: unknown): Decision {
  return { kind: 'refused', found, status: 'missing', reason: `cannot create ${file}: ${(err as Error).message}; fix the cause (permissions, disk space), then run up again` };
}

/**
 * Places stores {@link buildMissing} built, their fsyncs together, and returns their entries in
 * the same order. One another process created first is reconciled as it is now (normally:
 * current), as {@link reconcileStore} does.
 */
export async function placeBuilt(builds: readonly BuiltStore[], options: ReconcileOptions): Promise<StoreReport[]> {
  const placed = await placeFreshTogether(builds);
  return builds.map((b, k) => {
    const result = placed[k]!;
    if (result === false) return reconcileStore(b.store, b.dir, options);
    const d: Decision = result === true ? { kind: 'written', found: b.found, outcome: { classification: b.found, facts: b.facts, plan: b.plan, refused: false, backup: null } } : cannotCreate(b.found, b.file, result);
    return render(b.store, b.file, d, b.t0);
  });
}
