/**
 * The boot path of a host: classify every store of a data dir, refuse before changing any file
 * if one is refused, otherwise reconcile, then open each store with its connection settings.
 *
 * Built to cost little more than opening the files: a current file is opened once, read once
 * (user_version and sqlite_schema, compared with the baseline letter for letter), and that same
 * connection is handed to the host.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { messageOf, MissingStoresError, StoreError, type RefusedStatus, type StoreRefusal } from './errors.js';
import { isRefusedStatus, type StoreReport } from './report.js';
import type { Registry, Store } from './types.js';
import type { Classification } from './engine/classify.js';
import { busyTimeout, isBusy, openPlainFile, type FileFacts, type FileStat } from './engine/probe.js';
import { lookAt } from './engine/look.js';
import { checkedReport, decide, refusalIn, render } from './engine/reconcile.js';

export interface OpenOptions {
  /**
   * Create the data dir and the missing store files (default true). With false nothing is
   * created: a missing data dir or store file throws {@link MissingStoresError} before any file
   * is changed.
   */
  readonly create?: boolean;
  /** Back up before dropping tables that hold rows (default true). */
  readonly backup?: boolean;
  /** Run `PRAGMA quick_check` on current files too (default false: it reads the whole file). */
  readonly integrityCheck?: boolean;
}

/** Open, ready connections to every store of a data dir. */
export interface OpenStores<Names extends string = string> {
  /**
   * One better-sqlite3 connection per store, by store name, with its settings applied. For a
   * registry built in code the names are known to the compiler: `stores.db.objects` is a
   * `Database`, no `!` needed under `noUncheckedIndexedAccess`.
   */
  readonly db: Readonly<Record<Names, Database.Database>>;
  /** What was found and done, per store (the same entries as `stores up --json`). */
  readonly report: readonly StoreReport[];
  /** Checkpoints each WAL (TRUNCATE, per the store's setting) and closes every connection. */
  close(): Promise<void>;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `fn`, retrying while SQLite answers SQLITE_BUSY, for up to `timeoutMs`. Needed where
 * SQLite returns BUSY at once instead of calling the busy handler: switching the journal mode
 * to WAL while another process reads or writes the file is one such case (to avoid deadlock,
 * https://www.sqlite.org/c3ref/busy_handler.html).
 */
export function retryBusy<T>(fn: () => T, timeoutMs: number): T {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    try {
      return fn();
    } catch (err) {
      if (!/^SQLITE_BUSY/.test((err as { code?: string }).code ?? '') || Date.now() >= deadline) throw err;
      Atomics.wait(sleeper, 0, 0, wait);
    }
  }
}

/** Applies a store's connection settings, in order. Values were validated with the registry. */
export function applySettings(db: Database.Database, store: Store): void {
  // One exec for all of them (in order); running them again after a BUSY is harmless.
  const script = Object.entries(store.connection)
    .map(([k, v]) => `PRAGMA ${k} = ${v};`)
    .join('\n');
  if (script) retryBusy(() => db.exec(script), busyTimeout(store));
}

interface Slot {
  readonly store: Store;
  readonly file: string;
  readonly stat: FileStat;
  readonly facts: FileFacts;
  readonly cls: Classification;
  db: Database.Database | null;
}

function firstLook(store: Store, file: string, options: OpenOptions): Slot {
  return { store, file, ...lookAt(store, file, { integrity: options.integrityCheck === true }) };
}

function refusalOf(slot: Slot, message?: string, status?: RefusedStatus): StoreRefusal {
  return {
    store: slot.store.name,
    file: slot.file,
    status: status ?? (slot.cls.status as RefusedStatus),
    found: slot.cls.version,
    expected: slot.store.version,
    message: `${slot.file}: ${message ?? slot.cls.message}`,
  };
}

/** The same refusal for every store of a data dir that cannot be used at all. */
function dirError(registry: Registry, dir: string, message: string, cause: unknown): StoreError {
  const refusals = registry.stores.map((store): StoreRefusal => {
    const file = path.join(dir, store.file);
    return { store: store.name, file, status: 'error', found: null, expected: store.version, message: `${file}: ${message}` };
  });
  return new StoreError(refusals, { cause });
}

/** Makes sure `dir` is a directory (creating it when absent and `create` allows); throws StoreError. */
function prepareDir(registry: Registry, dir: string, create: boolean): void {
  let st: fs.Stats | undefined;
  try {
    // A data dir named by the host may be a symbolic link to a directory: the host chose it.
    st = fs.statSync(dir, { throwIfNoEntry: false });
    if (!st && create) fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw dirError(registry, dir, `the data dir ${dir} cannot be ${st || !create ? 'read' : 'created'} (${e.code ?? 'error'}: ${e.message}); fix the cause (permissions, a file where a directory should be), then open again`, err);
  }
  if (st && !st.isDirectory()) {
    const cause = Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
    throw dirError(registry, dir, `the data dir ${dir} is not a directory (a file stands there); open the right data dir, or move that file away`, cause);
  }
}

/** Entries for a directory refused at the first look: nothing was done to any store. */
function untouchedReport(slots: readonly Slot[], started: readonly bigint[]): StoreReport[] {
  return slots.map((s, i) => {
    const r = checkedReport(s.store, s.file, s.cls, started[i]!);
    const stay = { from: s.cls.version, to: s.cls.version };
    if (isRefusedStatus(s.cls.status)) return { ...r, action: 'refused' as const, ...stay };
    return { ...r, action: 'unchanged' as const, ...stay, message: `${r.message} (not reconciled: another store of the data dir is refused)` };
  });
}

/** A StoreError for an error no refusal foresaw (opening a connection, applying a setting…). */
function unexpected(slot: Slot, what: string, err: unknown, report: readonly StoreReport[]): StoreError {
  const e = err as { code?: string; message?: string };
  const code = typeof e?.code === 'string' ? e.code : 'error';
  const status: RefusedStatus = isBusy(err) ? 'locked' : 'error';
  const done = report.find((r) => r.name === slot.store.name);
  const refusal: StoreRefusal = {
    store: slot.store.name,
    file: slot.file,
    status,
    found: done?.to ?? slot.cls.version,
    expected: slot.store.version,
    message: `${slot.file}: ${what} failed (${code}: ${e?.message ?? String(err)}); ${status === 'locked' ? 'retry when the other connection is done' : 'fix the cause, then open again'}${done?.action && done.action !== 'unchanged' && done.action !== 'refused' ? ` (its reconcile, ${done.action}, is committed)` : ''}`,
  };
  return new StoreError([refusal], { cause: err, report });
}

/**
 * Checkpoints each WAL (per the store's setting) and closes every connection, even if a
 * checkpoint fails; a checkpoint that cannot run now (readers elsewhere, SQLITE_BUSY) is not an
 * error: the WAL stays valid and the next checkpoint folds it in.
 */
async function closeStores(slots: readonly Slot[]): Promise<void> {
  const errors: unknown[] = [];
  for (const slot of slots) {
    const conn = slot.db;
    if (!conn || !conn.open) continue;
    try {
      // Nothing to fold in when the WAL is empty (SQLite removes it as the last connection closes).
      const wal = fs.statSync(`${slot.file}-wal`, { throwIfNoEntry: false })?.size ?? 0;
      if (slot.store.checkpointOnClose && wal > 0) conn.pragma(`wal_checkpoint(${slot.store.checkpointOnClose})`);
    } catch (err) {
      if (!isBusy(err)) errors.push(err);
    }
    try {
      conn.close();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, 'closing the stores failed');
}

/**
 * Reconciles every store of `dataDir` and returns open connections.
 *
 * @throws {StoreError} (and nothing else) with `code` `STORE_TOO_NEW`, `STORE_TOO_OLD`,
 * `STORE_DRIFT`, `STORE_CONFLICT`, `STORE_FOREIGN`, `STORE_CORRUPT`, `STORE_LOCKED` or
 * `STORE_ERROR` when a store is refused or cannot be opened; `report` says what was done before
 * (when it is thrown at the first look, every file was left as it was), `cause` the underlying
 * OS or SQLite error. With `create: false`, a missing data dir or store file throws
 * {@link MissingStoresError} (`code` `STORES_MISSING`) instead, before any file is touched.
 *
 * @example
 * const registry = await loadRegistry('stores');
 * const stores = await openStores(registry, '/var/lib/app/1.5.0');
 * stores.db.objects.prepare('SELECT count(*) FROM db_client').get();
 * await stores.close();
 */
export async function openStores<Names extends string>(registry: Registry<Names>, dataDir: string, options: OpenOptions = {}): Promise<OpenStores<Names>> {
  const dir = path.resolve(dataDir);
  prepareDir(registry, dir, options.create !== false);
  const slots: Slot[] = [];
  const closeAll = () => {
    for (const s of slots) {
      try {
        s.db?.close();
      } catch {
        // Closing after a failure: the failure is what is reported.
      }
    }
  };
  const report: StoreReport[] = [];
  let current: Slot | null = null;
  let doing = 'looking at it';
  try {
    // 1. Classify every store before touching any.
    const started: bigint[] = [];
    for (const store of registry.stores) {
      started.push(process.hrtime.bigint());
      slots.push(firstLook(store, path.join(dir, store.file), options));
    }
    const refused = slots.filter((s) => isRefusedStatus(s.cls.status));
    if (refused.length > 0) throw new StoreError(refused.map((s) => refusalOf(s)), { report: untouchedReport(slots, started) });
    if (options.create === false) {
      const missing = slots.filter((s) => s.cls.status === 'missing').map((s) => ({ store: s.store.name, file: s.file }));
      if (missing.length > 0) throw new MissingStoresError(dir, missing, !fs.existsSync(dir));
    }

    // 2. Reconcile what needs it, each store in its own transaction: the same decision as
    // `stores up`, on the connection of the first look.
    doing = 'reconciling it';
    for (let i = 0; i < slots.length; i++) {
      const slot = (current = slots[i]!);
      const decision = decide(slot.store, slot.file, slot.cls, slot.facts, slot.db, { mode: 'up', backup: options.backup });
      report.push(render(slot.store, slot.file, decision, started[i]!));
      if (slot.cls.status === 'current') continue;
      // The host gets a fresh connection, free of any state the reconcile left (after a
      // quick_check in rollback mode SQLite refuses a later wal_checkpoint with SQLITE_LOCKED).
      slot.db?.close();
      slot.db = null;
      const refused = refusalIn(decision);
      if (refused) throw new StoreError([refusalOf(slot, refused.reason, refused.status)], { report: [...report] });
    }

    // 3. Open each store with its settings, in registry order.
    doing = 'opening it with its connection settings';
    const db: Record<string, Database.Database> = {};
    for (const slot of slots) {
      current = slot;
      slot.db ??= openPlainFile(slot.file, { fileMustExist: true, timeout: busyTimeout(slot.store) });
      applySettings(slot.db, slot.store);
      db[slot.store.name] = slot.db;
    }
    return {
      // Every store of the registry has its connection: the record is complete.
      db: db as Record<Names, Database.Database>,
      report,
      close: () => closeStores(slots),
    };
  } catch (err) {
    closeAll();
    if (err instanceof StoreError || err instanceof MissingStoresError) throw err;
    const slot = current ?? slots[slots.length - 1];
    if (!slot) throw dirError(registry, dir, `${doing} failed (${messageOf(err)})`, err);
    throw unexpected(slot, doing, err, [...report]);
  }
}

