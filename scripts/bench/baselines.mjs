/**
 * The raw baselines: one node process, single-threaded, better-sqlite3, none of stores' code,
 * the same SQL files and connection settings as the registry (read by ./registry.mjs).
 *
 *   raw scan     walk the root; per store file: open, PRAGMA user_version, SELECT type, name,
 *                tbl_name, sql FROM sqlite_schema, close. No quick_check, no pragmas (a read).
 *   raw create   per data dir and store: open, the store's connection pragmas (so the file is
 *                born in the journal mode the store declares), BEGIN, schema.sql, seed.sql,
 *                user_version, COMMIT, close.
 *   raw no-op    per store file: open, the store's connection pragmas, user_version, read
 *                sqlite_schema, close.
 *   raw upgrade  per store file: open, the store's connection pragmas, user_version; when the
 *                file is behind: BEGIN, the migration SQL files after its version, seed.sql,
 *                user_version stamped, COMMIT; close.
 * The floors: the same work on as many threads as stores uses by default
 * (os.availableParallelism(): this thread and workers started beside it, items handed out one at a
 * time from a shared counter), what the machine allows a tool doing it. Not targets: they say how
 * far a target is from what the machine allows, and how much of the gap is stores' own.
 *   floor scan     the raw scan with `PRAGMA quick_check` on every file (what check promises).
 *   floor no-op    the raw no-op.
 *   floor upgrade  the raw upgrade.
 * Each returns the number of store files it handled.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { sqlite } from './registry.mjs';

/** Calls `fn` on every store file under `root` (a walk with readdir, as the raw scan does). */
function walkStoreFiles(registry, root, fn) {
  const names = new Set(registry.map((s) => s.file));
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && names.has(e.name)) fn(p);
    }
  };
  walk(root);
}

const pragmas = (db, store) => {
  for (const [k, v] of Object.entries(store.connection)) db.pragma(`${k} = ${v}`);
};

/**
 * The work on one item (a store file for the scans, a data dir otherwise), given better-sqlite3's
 * Database; each returns the number of store files it handled.
 */
export const ITEM = {
  scan(Database, registry, file) {
    const db = new Database(file);
    db.pragma('user_version', { simple: true });
    db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema').all();
    db.close();
    return 1;
  },
  scanQuickCheck(Database, registry, file) {
    const db = new Database(file);
    db.pragma('user_version', { simple: true });
    db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema').all();
    db.pragma('quick_check');
    db.close();
    return 1;
  },
  create(Database, registry, dir) {
    fs.mkdirSync(dir, { recursive: true });
    for (const store of registry) {
      const db = new Database(path.join(dir, store.file));
      pragmas(db, store);
      db.exec('BEGIN');
      db.exec(store.schema);
      if (store.seed) db.exec(store.seed);
      db.pragma(`user_version = ${store.version}`);
      db.exec('COMMIT');
      db.close();
    }
    return registry.length;
  },
  noop(Database, registry, dir) {
    for (const store of registry) {
      const db = new Database(path.join(dir, store.file), { fileMustExist: true });
      pragmas(db, store);
      db.pragma('user_version', { simple: true });
      db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema').all();
      db.close();
    }
    return registry.length;
  },
  upgrade(Database, registry, dir) {
    for (const store of registry) {
      const db = new Database(path.join(dir, store.file), { fileMustExist: true });
      pragmas(db, store);
      const uv = db.pragma('user_version', { simple: true });
      if (uv < store.version) {
        db.exec('BEGIN');
        for (const m of store.migrations) if (m.version > uv) db.exec(m.sql);
        if (store.seed) db.exec(store.seed);
        db.pragma(`user_version = ${store.version}`);
        db.exec('COMMIT');
      }
      db.close();
    }
    return registry.length;
  },
};

/** Runs `ITEM[kind]` on the items from the shared counter `next` until none is left. */
export function drain(kind, Database, registry, items, next) {
  let files = 0;
  for (;;) {
    const i = Atomics.add(next, 0, 1);
    if (i >= items.length) return files;
    files += ITEM[kind](Database, registry, items[i]);
  }
}

/** One thread, in order. */
async function sequential(kind, registry, items) {
  const Database = await sqlite();
  let files = 0;
  for (const item of items) files += ITEM[kind](Database, registry, item);
  return files;
}

/** On `threads` threads: this one and workers (./floor-thread.mjs), which start while this one works. */
async function onAllThreads(kind, registry, items, threads = os.availableParallelism()) {
  const Database = await sqlite();
  const next = new Int32Array(new SharedArrayBuffer(4));
  const workers = Array.from(
    { length: threads - 1 },
    () =>
      new Promise((resolve, reject) => {
        const w = new Worker(new URL('./floor-thread.mjs', import.meta.url), { workerData: { kind, registry, items, next } });
        w.once('message', resolve);
        w.once('error', reject);
      }),
  );
  const mine = drain(kind, Database, registry, items, next);
  const theirs = await Promise.all(workers);
  return mine + theirs.reduce((a, b) => a + b, 0);
}

const storeFiles = (registry, root) => {
  const files = [];
  walkStoreFiles(registry, root, (p) => files.push(p));
  return files;
};

export const rawScan = (registry, root) => sequential('scan', registry, storeFiles(registry, root));
export const rawCreate = (registry, dirs) => sequential('create', registry, dirs);
export const rawNoop = (registry, dirs) => sequential('noop', registry, dirs);
export const rawUpgrade = (registry, dirs) => sequential('upgrade', registry, dirs);
export const floorScan = (registry, root) => onAllThreads('scanQuickCheck', registry, storeFiles(registry, root));
export const floorNoop = (registry, dirs) => onAllThreads('noop', registry, dirs);
export const floorUpgrade = (registry, dirs) => onAllThreads('upgrade', registry, dirs);
