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
import { StoreError, type RefusedStatus, type StoreRefusal } from './errors.js';
import { isRefusedStatus, type StoreReport } from './report.js';
import type { Registry, Store } from './types.js';
import type { Classification } from './engine/classify.js';
import { busyTimeout, type FileFacts, type FileStat } from './engine/probe.js';
import { lookAt } from './engine/look.js';
import { decide } from './engine/reconcile.js';

export interface OpenOptions {
  /** Create the data dir when absent (default true). */
  readonly create?: boolean;
  /** Back up before dropping tables that hold rows (default true). */
  readonly backup?: boolean;
  /** Run `PRAGMA quick_check` on current files too (default false: it reads the whole file). */
  readonly integrityCheck?: boolean;
}

/** Open, ready connections to every store of a data dir. */
export interface OpenStores {
  /** One better-sqlite3 connection per store, by store name, with its settings applied. */
  readonly db: Readonly<Record<string, Database.Database>>;
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

/**
 * Reconciles every store of `dataDir` and returns open connections.
 *
 * @throws {StoreError} with `code` `STORE_TOO_NEW`, `STORE_TOO_OLD`, `STORE_DRIFT`,
 * `STORE_CONFLICT`, `STORE_FOREIGN`, `STORE_CORRUPT`, `STORE_LOCKED` or `STORE_ERROR` when a
 * store is refused; when it is thrown before any change, every file was left as it was.
 *
 * @example
 * const registry = await loadRegistry('stores');
 * const stores = await openStores(registry, '/var/lib/app/1.5.0');
 * stores.db.objects.prepare('SELECT count(*) FROM db_client').get();
 * await stores.close();
 */
export async function openStores(registry: Registry, dataDir: string, options: OpenOptions = {}): Promise<OpenStores> {
  const dir = path.resolve(dataDir);
  if (options.create !== false) fs.mkdirSync(dir, { recursive: true });
  const slots: Slot[] = [];
  const closeAll = () => {
    for (const s of slots) s.db?.close();
  };
  const report: StoreReport[] = [];
  try {
    // 1. Classify every store before touching any.
    const started: bigint[] = [];
    for (const store of registry.stores) {
      started.push(process.hrtime.bigint());
      slots.push(firstLook(store, path.join(dir, store.file), options));
    }
    const refused = slots.filter((s) => isRefusedStatus(s.cls.status));
    if (refused.length > 0) throw new StoreError(refused.map((s) => refusalOf(s)));

    // 2. Reconcile what needs it, each store in its own transaction: the same decision as
    // `stores up`, on the connection of the first look.
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i]!;
      const r = decide(slot.store, slot.file, slot.cls, slot.facts, slot.db, { mode: 'up', backup: options.backup }, started[i]!);
      report.push(r);
      if (slot.cls.status === 'current') continue;
      // The host gets a fresh connection, free of any state the reconcile left (after a
      // quick_check in rollback mode SQLite refuses a later wal_checkpoint with SQLITE_LOCKED).
      slot.db?.close();
      slot.db = null;
      if (r.action === 'refused') {
        throw new StoreError([refusalOf(slot, r.message, isRefusedStatus(r.status) ? (r.status as RefusedStatus) : 'error')]);
      }
    }

    // 3. Open each store with its settings, in registry order.
    const db: Record<string, Database.Database> = {};
    for (const slot of slots) {
      slot.db ??= new Database(slot.file, { fileMustExist: true, timeout: busyTimeout(slot.store) });
      applySettings(slot.db, slot.store);
      db[slot.store.name] = slot.db;
    }
    return {
      db,
      report,
      close: async () => {
        // Every connection is closed even if a checkpoint fails; a checkpoint that cannot run
        // now (readers elsewhere, SQLITE_BUSY) is not an error: the WAL stays valid and the
        // next checkpoint folds it in.
        const errors: unknown[] = [];
        for (const slot of slots) {
          const conn = slot.db;
          if (!conn || !conn.open) continue;
          try {
            // Nothing to fold in when the WAL is empty (SQLite removes it as the last connection closes).
            const wal = fs.statSync(`${slot.file}-wal`, { throwIfNoEntry: false })?.size ?? 0;
            if (slot.store.checkpointOnClose && wal > 0) conn.pragma(`wal_checkpoint(${slot.store.checkpointOnClose})`);
          } catch (err) {
            if (!/^SQLITE_(BUSY|LOCKED)/.test((err as { code?: string }).code ?? '')) errors.push(err);
          }
          try {
            conn.close();
          } catch (err) {
            errors.push(err);
          }
        }
        if (errors.length === 1) throw errors[0];
        if (errors.length > 1) throw new AggregateError(errors, 'closing the stores failed');
      },
    };
  } catch (err) {
    closeAll();
    throw err;
  }
}

