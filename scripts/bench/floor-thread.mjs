/**
 * A thread of the floor scan (./baselines.mjs): takes the next file from the shared counter until
 * none is left; per file the raw scan's reads and `PRAGMA quick_check`. Run as a worker, it posts
 * the number of files it read.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

export function drainScan(Database, files, next) {
  let n = 0;
  for (;;) {
    const i = Atomics.add(next, 0, 1);
    if (i >= files.length) return n;
    const db = new Database(files[i]);
    db.pragma('user_version', { simple: true });
    db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema').all();
    db.pragma('quick_check');
    db.close();
    n++;
  }
}

if (!isMainThread && workerData?.next) {
  const { default: Database } = await import('better-sqlite3');
  parentPort.postMessage(drainScan(Database, workerData.files, workerData.next));
}
