/**
 * The first look at a store file. A plain file — no crashed writer's companions beside it — is opened once,
 * read-write, read in one read transaction and classified, and the connection is kept for what
 * follows: the boot path hands it to the host, a reconcile takes the write lock on it. Anything
 * unusual (missing, empty, too short to be SQLite, a pending -wal, a -journal) goes through the
 * side-effect-free probe instead, a hot journal being rolled back first as any writer would.
 * Opening read-write and only reading changes no byte of the file. With `readOnly` (check, dry
 * runs) a hot journal is reported, not rolled back, and the caller closes the connection at once.
 */
import Database from 'better-sqlite3';
import type { Store } from '../types.js';
import { classify, type Classification } from './classify.js';
import { assertSameFile, busyTimeout, collect, errorFacts, hasHotJournal, isBusy, probe, recoverHotJournal, statLight, unreadFacts, type FileFacts, type FileStat } from './probe.js';

export interface Look {
  readonly stat: FileStat;
  readonly facts: FileFacts;
  readonly cls: Classification;
  /** The open read-write connection (plain files only); the caller closes it. */
  readonly db: Database.Database | null;
}

export interface LookOptions {
  /** Run `PRAGMA quick_check`. */
  readonly integrity?: boolean;
  /** Report a hot journal instead of rolling it back (check, dry runs). */
  readonly readOnly?: boolean;
  /**
   * Read a plain file in SQLite's exclusive locking mode when nobody else has it open: a WAL-mode
   * file is then read without creating, mapping and deleting a `-shm` wal-index
   * (https://www.sqlite.org/wal.html#use_of_wal_without_shared_memory), which is most of what
   * reading a small WAL file costs. The lock is tried without waiting; when another connection
   * holds the file, the look falls back to an ordinary connection. For one-shot commands only
   * (check, up over a fleet): never for connections handed to a host.
   */
  readonly exclusive?: boolean;
}

/**
 * Larger files are looked at the ordinary way: reading them (quick_check above all) takes long
 * enough that holding others out would be felt, and the -shm costs little beside it.
 */
export const EXCLUSIVE_MAX_BYTES = 4 * 1024 * 1024;

export function lookAt(store: Store, file: string, options: LookOptions = {}): Look {
  let stat: FileStat;
  try {
    stat = statLight(file);
  } catch (err) {
    const st: FileStat = { file, kind: 'other', size: 0, walBytes: 0, journal: false, header: null };
    const facts = unreadFacts(st, errorFacts(err));
    return { stat: st, facts, cls: classify(facts, store), db: null };
  }
  // A symbolic link (at the file or a companion) is never opened: the probe reports it.
  const plain = stat.kind === 'file' && !stat.link && stat.size >= 100;
  if (!plain || stat.walBytes > 0 || stat.journal) {
    let facts = probe(file, store, { integrity: options.integrity === true });
    if (hasHotJournal(facts) && !options.readOnly) {
      try {
        recoverHotJournal(file, store);
        facts = probe(file, store, { integrity: options.integrity === true });
      } catch {
        // Refused from the first probe, with the hot journal named.
      }
    }
    return { stat: facts, facts, cls: classify(facts, store), db: null };
  }
  const exclusive = options.exclusive === true && stat.size <= EXCLUSIVE_MAX_BYTES;
  let db: Database.Database | null = null;
  try {
    // Exclusive: no waiting for the lock (the fallback below waits instead).
    db = new Database(file, { fileMustExist: true, timeout: exclusive ? 0 : busyTimeout(store) });
    // SQLite follows symbolic links: make sure the name still holds the file just lstat'ed.
    assertSameFile(stat);
    if (exclusive) db.exec('PRAGMA locking_mode = EXCLUSIVE');
    // The connection reads the header for us: a file that is not SQLite fails with NOTADB.
    const facts = collect(db, store, { ...stat, header: { sqlite: true, wal: false, userVersion: 0 } }, { integrity: options.integrity === true });
    return { stat, facts, cls: classify(facts, store), db };
  } catch (err) {
    db?.close();
    // Held by another connection: look again the ordinary way, waiting for the lock as usual.
    if (exclusive && isBusy(err)) return lookAt(store, file, { ...options, exclusive: false });
    // Replaced (by a link, say) while being opened: the probe looks again and reports what is there now.
    if ((err as { code?: string }).code === 'ESTORECHANGED') {
      const facts = probe(file, store, { integrity: options.integrity === true });
      return { stat: facts, facts, cls: classify(facts, store), db: null };
    }
    // No header was read on this path: the error says whether the file is SQLite at all.
    const e = errorFacts(err);
    const facts = unreadFacts({ ...stat, header: { sqlite: e.code !== 'SQLITE_NOTADB', wal: false, userVersion: 0 } }, e);
    return { stat, facts, cls: classify(facts, store), db: null };
  }
}
