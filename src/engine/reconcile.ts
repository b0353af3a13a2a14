/**
 * One store file, reconciled in isolation: plain data in (store, data dir, mode, options),
 * a {@link StoreReport} out. The CLI and the fleet runner call this per store; it never throws
 * for a bad file.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { isRefusedStatus, type Mode, type StoreReport } from '../report.js';
import type { Store } from '../types.js';
import type { Classification } from './classify.js';
import { createFresh, reconcileConnection, type ApplyOptions, type Outcome } from './apply.js';
import { plan as makePlan, type Plan } from './plan.js';
import { busyTimeout, holdsExclusively, openForProbe, statFile, type FileFacts } from './probe.js';
import { lookAt } from './look.js';
import { quoteIdent } from '../sql/tokens.js';

export interface ReconcileOptions extends ApplyOptions {
  /** `check` reads only; `up` reconciles; `adopt` reconciles `legacy` files only. */
  readonly mode: Mode;
  /** Plan, print, write nothing. */
  readonly dryRun?: boolean;
}

function elapsed(t0: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - t0) / 1e4) / 100;
}

function planReport(p: Plan, file: string, store: Store): StoreReport['plan'] {
  const counts = countRows(file, store, [...new Set(p.steps.flatMap((s) => s.tables ?? []))]);
  return p.steps.map((s) => ({
    kind: s.kind,
    sql: s.sql,
    comment: s.comment,
    source: s.source,
    ...(s.destructive ? { destructive: true } : {}),
    ...(s.tables && s.tables.length > 0 ? { rows: Object.fromEntries(s.tables.map((t) => [t, counts[t] ?? null])) } : {}),
  }));
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

function baseReport(store: Store, file: string, cls: Classification, t0: bigint): StoreReport {
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

/** Turns the outcome of a write attempt into a report entry (status: as found before acting). */
export function outcomeReport(store: Store, file: string, found: Classification, outcome: Outcome, t0: bigint): StoreReport {
  const r = baseReport(store, file, found, t0);
  if (outcome.plan) {
    const p = outcome.plan;
    const did = { created: 'created', initialized: 'initialized', migrated: 'migrated', adopted: 'adopted', repaired: 'repaired' }[p.action];
    return {
      ...r,
      action: p.action,
      from: outcome.classification.version ?? p.from,
      to: p.to,
      backup: outcome.backup,
      message: `${did} v${p.to}${p.action === 'migrated' ? ` from v${p.from}` : ''}${outcome.backup ? `; backup of the dropped rows at ${outcome.backup}` : ''}`,
      ms: elapsed(t0),
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
      from: found.version,
      to: found.version,
      message: outcome.reason ?? outcome.classification.message,
      ...(changes && changes.length > 0 ? { changes } : {}),
      ms: elapsed(t0),
    };
  }
  return { ...r, action: 'unchanged', from: found.version, to: found.version, message: `${store.file} was made current by another process meanwhile`, ms: elapsed(t0) };
}

/** Reconciles (or checks, or plans) one store of one data dir. */
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
    if (options.mode === 'check') return baseReport(store, file, look.cls, t0);
    return decide(store, file, look.cls, look.facts, null, options, t0);
  }
  // up/adopt: one read-write connection for the look and, if needed, the write.
  const look = lookAt(store, file, { integrity, exclusive: true });
  try {
    return decide(store, file, look.cls, look.facts, look.db, options, t0);
  } finally {
    look.db?.close();
  }
}

/**
 * Whether the look's connection can carry the write. An ordinary one can. One in exclusive
 * locking mode can when the file is in WAL mode: its exclusive lock is already the write lock
 * (nobody can read or write the file meanwhile, so the facts stay true). On a rollback-journal
 * file the write takes an ordinary connection of its own: the look's lasting shared lock would
 * make two concurrent writers wait on each other.
 */
function lookCarriesWrite(db: Database.Database, store: Store): boolean {
  if (db.pragma('locking_mode', { simple: true }) !== 'exclusive') return true;
  if (!holdsExclusively(db)) return false;
  db.pragma(`busy_timeout = ${busyTimeout(store)}`); // the look tried its lock without waiting
  return true;
}

/**
 * What a command does with a file it has looked at: nothing (current, or not its business),
 * refuse, plan (dry run), or write. `db` is the look's connection (it stays open: the caller
 * closes it); without one, a connection is opened for the write and closed after.
 */
export function decide(store: Store, file: string, cls: Classification, facts: FileFacts, db: Database.Database | null, options: ReconcileOptions, t0: bigint): StoreReport {
  const report = baseReport(store, file, cls, t0);

  const stay = { from: cls.version, to: cls.version };
  if (cls.status === 'current') return { ...report, action: 'unchanged', ...stay };
  if (options.mode === 'adopt' && cls.status !== 'legacy') {
    if (isRefusedStatus(cls.status)) return { ...report, action: 'refused', ...stay };
    return { ...report, action: 'unchanged', ...stay, message: `${cls.message} (adopt handles legacy files only; run up)` };
  }
  const planned = makePlan(cls, store, facts, options);
  if ('none' in planned) return { ...report, action: 'refused', ...stay, message: planned.reason };
  if (options.dryRun) {
    return { ...report, action: 'planned', from: cls.version, to: store.version, plan: planReport(planned.plan, file, store), ms: elapsed(t0) };
  }
  return write(store, file, cls, facts, planned.plan, options, t0, db);
}

function write(store: Store, file: string, cls: Classification, facts: FileFacts, p: Plan, options: ReconcileOptions, t0: bigint, open: Database.Database | null): StoreReport {
  if (cls.status === 'missing') {
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      if (createFresh(file, store, p)) {
        return outcomeReport(store, file, cls, { classification: cls, facts, plan: p, refused: false, backup: null }, t0);
      }
    } catch (err) {
      const msg = `cannot create ${file}: ${(err as Error).message}; fix the cause (permissions, disk space), then run up again`;
      return { ...baseReport(store, file, { ...cls, status: 'error' }, t0), status: 'missing', action: 'refused', from: null, to: null, message: msg };
    }
    // Another process created it first: reconcile what is there now (normally: current).
  }
  if (open && !lookCarriesWrite(open, store)) {
    open.close();
    open = null;
  }
  let db: Database.Database;
  try {
    db = open ?? new Database(file, { fileMustExist: true, timeout: busyTimeout(store) });
  } catch (err) {
    const msg = `cannot open ${file} for writing: ${(err as Error).message}; fix the cause (permissions, read-only media), then run up again`;
    return { ...baseReport(store, file, cls, t0), action: 'refused', from: cls.version, to: cls.version, message: msg };
  }
  try {
    const outcome = open ? reconcileConnection(db, facts, store, options, facts) : reconcileConnection(db, statFile(file), store, options);
    return outcomeReport(store, file, cls, outcome, t0);
  } finally {
    if (!open) db.close();
  }
}
