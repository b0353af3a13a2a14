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
 *   floor scan   the raw scan with `PRAGMA quick_check` on every file, on as many threads as
 *                stores uses by default (os.availableParallelism(): this thread and workers,
 *                files handed out one at a time): the least a tool that keeps check's promise
 *                (quick_check on every file) takes on this machine. Not a target; it says how
 *                far the check target is from what the machine allows, and how much of the gap
 *                is stores' own.
 * Each returns the number of store files it handled.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { sqlite } from './registry.mjs';
import { drainScan } from './floor-thread.mjs';

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

export async function rawScan(registry, root) {
  const Database = await sqlite();
  let files = 0;
  walkStoreFiles(registry, root, (p) => {
    const db = new Database(p);
    db.pragma('user_version', { simple: true });
    db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema').all();
    db.close();
    files++;
  });
  return files;
}

export async function floorScan(registry, root, threads = os.availableParallelism()) {
  const Database = await sqlite();
  const files = [];
  walkStoreFiles(registry, root, (p) => files.push(p));
  // The next file to take, shared by every thread; the workers start while this thread works.
  const next = new Int32Array(new SharedArrayBuffer(4));
  const workers = Array.from(
    { length: threads - 1 },
    () =>
      new Promise((resolve, reject) => {
        const w = new Worker(new URL('./floor-thread.mjs', import.meta.url), { workerData: { files, next } });
        w.once('message', resolve);
        w.once('error', reject);
      }),
  );
  const mine = drainScan(Database, files, next);
  const theirs = await Promise.all(workers);
  return mine + theirs.reduce((a, b) => a + b, 0);
}

const pragmas = (db, store) => {
  for (const [k, v] of Object.entries(store.connection)) db.pragma(`${k} = ${v}`);
};

export async function rawCreate(registry, dirs) {
  const Database = await sqlite();
  let files = 0;
  for (const dir of dirs) {
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
      files++;
    }
  }
  return files;
}

export async function rawNoop(registry, dirs) {
  const Database = await sqlite();
  let files = 0;
  for (const dir of dirs) {
    for (const store of registry) {
      const db = new Database(path.join(dir, store.file), { fileMustExist: true });
      pragmas(db, store);
      db.pragma('user_version', { simple: true });
      db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema').all();
      db.close();
      files++;
    }
  }
  return files;
}

export async function rawUpgrade(registry, dirs) {
  const Database = await sqlite();
  let files = 0;
  for (const dir of dirs) {
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
      files++;
    }
  }
  return files;
}
