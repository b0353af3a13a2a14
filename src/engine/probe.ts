/**
 * Probing a store file: everything classification needs, gathered without writing a byte.
 *
 * A probe never creates the file, never writes it, and leaves no -wal/-shm behind:
 * - rollback-journal files and files with a pending -wal are read through a read-only
 *   connection (it uses the companions that are there and creates none of its own, except a
 *   -shm where a crashed writer left a -wal without one);
 * - WAL-mode files with no pending -wal are read through an ordinary connection that only
 *   reads: SQLite creates the -wal/-shm on open and removes them on close, as the last
 *   connection, without a checkpoint to do (https://www.sqlite.org/wal.html#the_wal_file).
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { Store } from '../types.js';
import { hasRows, inspectCached, readMaster, sameMaster } from '../schema/inspect.js';
import { isKnownListing, listingsAt } from './listings.js';
import type { MasterRow, Snapshot } from '../schema/model.js';
import { foldCase } from '../sql/tokens.js';
import { excludeFromSnapshot, partition, type LeftOut, type Unignorable } from '../schema/exclude.js';
import { exclusionFor, readHistories, toolsKeeping, type HistoryFact } from './history.js';

/** What the file system says about a store file and its companions. */
export interface FileStat {
  readonly file: string;
  /** `symlink`: a symbolic link stands at the file's name (never followed, whatever it points at). */
  readonly kind: 'missing' | 'file' | 'directory' | 'symlink' | 'other';
  readonly size: number;
  /** Size of the `-wal` beside it (0 when absent). */
  readonly walBytes: number;
  /** A `-journal` beside it: a writer crashed mid-transaction (a hot journal) or is writing. */
  readonly journal: boolean;
  /** From the 100-byte header: null when unreadable. */
  readonly header: { readonly sqlite: boolean; readonly wal: boolean; readonly userVersion: number } | null;
  /**
   * A symbolic link at the file's name or at a companion's (`-wal`, `-shm`, `-journal`), with
   * what it points at: SQLite would follow it and read or write outside the data dir, so such a
   * file is never opened.
   */
  readonly link?: { readonly path: string; readonly target: string };
  /** Device and inode (`dev:ino`) of the file, to tell whether the name still holds the same file. */
  readonly identity?: string;
  /**
   * What the messages offer the operator, where the place the database lives differs from a
   * file's (a driver's own words; absent for files): see {@link Advice}.
   */
  readonly advice?: Advice;
}

/** The remedies classification names, in the words of where the database lives. */
export interface Advice {
  /** Said of what a step drops (files: "backed up first"). */
  readonly backedUp: string;
  /** What brings back a damaged database (files: "restore it from a backup"). */
  readonly restore: string;
  /** Where a drifted database's differences are listed (files: "see `stores diff FILE`"). */
  readonly differences: string;
}

/** The remedies of a store file. */
export function adviceFor(stat: Pick<FileStat, 'file' | 'advice'>): Advice {
  return stat.advice ?? { backedUp: 'backed up first', restore: 'restore it from a backup', differences: `see \`stores diff ${stat.file}\`` };
}

/** Everything classification needs, as plain data. */
export interface FileFacts extends FileStat {
  /** `PRAGMA user_version`, null when unreadable. */
  readonly userVersion: number | null;
  /**
   * `PRAGMA application_id` (header offset 68; 0 when none), null when unreadable; not read
   * (undefined) when the store declares no `applicationId`: nothing else looks at it.
   */
  readonly applicationId?: number | null;
  readonly master: readonly MasterRow[] | null;
  /**
   * True when `sqlite_schema` matches, letter for letter, a known listing of the version
   * `user_version` names (the baseline's at the target): that version's schema for sure, and
   * `snapshot` is null.
   */
  readonly matchesVersion: boolean;
  readonly snapshot: Snapshot | null;
  /** `PRAGMA quick_check` result ('ok' or the problems), null when not run. */
  readonly integrity: string | null;
  /** Dead tables (legacy rules) present in the file that hold rows. */
  readonly deadTablesWithRows: readonly string[];
  /** Failure to read, with SQLite's or the OS's code. */
  readonly error: { readonly code: string; readonly message: string } | null;
  /**
   * `PRAGMA data_version` when read: unchanged on the same connection means nobody committed since.
   * Not read (undefined) for a file at its store's version with a known listing, which no write
   * follows; a write without it reads the file again under the lock.
   */
  readonly dataVersion?: number;
  /**
   * Objects another program owns, left out of `master` and `snapshot` (the exclusion layer:
   * src/schema/exclude.ts): `ignore` patterns, sidecar tables, another tool's bookkeeping.
   */
  readonly excluded?: readonly LeftOut[];
  /** Triggers on our tables whose name matches an `ignore` pattern: they cannot be ignored. */
  readonly unignorable?: readonly Unignorable[];
  /** The declared histories (`legacy.history`) the file holds (user_version 0 only). */
  readonly history?: readonly HistoryFact[];
  /** Tools whose bookkeeping the file holds although no declared history reads it (user_version 0 only). */
  readonly keptBy?: readonly string[];
}

const MAGIC = 'SQLite format 3\u0000';

/** The kind of a directory entry, read with lstat(2): a symbolic link is never followed. */
function kindOf(st: fs.Stats): FileStat['kind'] {
  return st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other';
}

function linkAt(p: string): { path: string; target: string } {
  let target: string;
  try {
    target = fs.readlinkSync(p);
  } catch {
    target = '(unreadable)';
  }
  return { path: p, target };
}

/**
 * Size of a companion (0 when absent), and the link when a symbolic link stands at its name.
 * lstat with throwIfNoEntry: an absent companion is the common case, and exceptions cost.
 */
function companion(p: string): { size: number; exists: boolean; link?: { path: string; target: string } } {
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  if (!st) return { size: 0, exists: false };
  return st.isSymbolicLink() ? { size: 0, exists: true, link: linkAt(p) } : { size: st.size, exists: true };
}

/**
 * The file system facts of a store file and its companions, without the header, read with
 * lstat(2) so that no symbolic link is followed.
 */
function entryStat(file: string, again = true): FileStat {
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  const wal = companion(`${file}-wal`);
  const journal = companion(`${file}-journal`);
  // A missing file's companions too: a -wal or -journal left by a file moved away would be taken
  // by a new file at that name as its own on its first open.
  if (!st) {
    const link = wal.link ?? journal.link ?? companion(`${file}-shm`).link;
    // Created meanwhile (another process's, its host's -wal beside it): looked at again, as it is.
    if ((wal.size > 0 || journal.exists || link) && again && fs.lstatSync(file, { throwIfNoEntry: false })) return entryStat(file, false);
    return { file, kind: 'missing', size: 0, walBytes: wal.size, journal: journal.exists, header: null, ...(link ? { link } : {}) };
  }
  const kind = kindOf(st);
  const link = kind === 'symlink' ? linkAt(file) : (wal.link ?? journal.link ?? companion(`${file}-shm`).link);
  return { file, kind, size: kind === 'symlink' ? 0 : st.size, walBytes: wal.size, journal: journal.exists, header: null, identity: `${st.dev}:${st.ino}`, ...(link ? { link } : {}) };
}

/**
 * Throws unless `file` is still the same plain file (no symbolic link) as `stat` found: checked
 * right after a connection opened it, since SQLite cannot be told not to follow a link.
 */
export function assertSameFile(stat: FileStat): void {
  // The companions were checked before the open; the file itself is what SQLite just opened.
  const now = fs.lstatSync(stat.file, { throwIfNoEntry: false });
  if (!now || now.isSymbolicLink() || `${now.dev}:${now.ino}` !== stat.identity) {
    const why = now?.isSymbolicLink() ? `${stat.file} became a symbolic link to ${linkAt(stat.file).target}` : `${stat.file} was replaced or removed`;
    throw Object.assign(new Error(`${why} while it was being opened`), { code: 'ESTORECHANGED' });
  }
}

/**
 * The file system facts without the header: enough for the boot path to decide whether it can
 * open the file directly (no crashed writer's companions). Opens no descriptor of the file.
 */
export function statLight(file: string): FileStat {
  return entryStat(file);
}

/**
 * Looks at the file and its companions through the file system only, reading the 100-byte
 * header. Never call it while a connection of this process has the file open: closing any
 * descriptor of a file drops every POSIX lock the process holds on it, SQLite's included
 * (https://www.sqlite.org/howtocorrupt.html#_posix_advisory_locks_canceled_by_a_separate_thread_doing_close_).
 * Under a connection use {@link statUnderConnection}.
 */
export function statFile(file: string): FileStat {
  const stat = entryStat(file);
  if (stat.kind !== 'file' || stat.link || stat.size < 100) return stat;
  const buf = Buffer.alloc(100);
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    fs.readSync(fd, buf, 0, 100, 0);
  } finally {
    fs.closeSync(fd);
  }
  const header = {
    sqlite: buf.toString('latin1', 0, 16) === MAGIC,
    wal: buf[18] === 2 && buf[19] === 2,
    userVersion: buf.readInt32BE(60),
  };
  return { ...stat, header };
}

/**
 * The same facts as {@link statFile} for a file this process holds open, without opening a
 * descriptor of it: sizes from stat(2), the header's facts from the connection itself (a file
 * that is not SQLite fails the connection's first read and is classified from that error).
 */
export function statUnderConnection(db: Database.Database, file: string): FileStat {
  const stat = entryStat(file);
  if (stat.kind === 'missing') throw Object.assign(new Error(`${file} was removed while it was open`), { code: 'ENOENT' });
  if (stat.kind !== 'file' || stat.link) return stat;
  return {
    ...stat,
    header: stat.size >= 100 ? { sqlite: true, wal: db.pragma('journal_mode', { simple: true }) === 'wal', userVersion: db.pragma('user_version', { simple: true }) as number } : null,
  };
}

/** True for SQLite's busy and locked errors: another connection holds the lock. */
export function isBusy(err: unknown): boolean {
  return /^SQLITE_(BUSY|LOCKED)/.test(String((err as { code?: unknown })?.code ?? ''));
}

/** Maps an error thrown while reading a file to SQLite's (or the OS's) code. */
export function errorFacts(err: unknown): { code: string; message: string } {
  const e = err as { code?: string; message?: string };
  return { code: typeof e?.code === 'string' ? e.code : 'UNKNOWN', message: e?.message ?? String(err) };
}

export interface CollectOptions {
  /** Run `PRAGMA quick_check` (cost grows with the file's size). */
  readonly integrity?: boolean;
}

/**
 * Reads the facts through an open connection (inside a transaction when the caller holds one).
 * Throws what SQLite throws; callers turn that into `error` facts.
 */
export function collect(db: Database.Database, store: Store, stat: FileStat, options: CollectOptions = {}): FileFacts {
  // One read transaction, so every read sees the same state even while another process commits.
  if (db.inTransaction) return collectNow(db, store, stat, options);
  db.exec('BEGIN');
  try {
    return collectNow(db, store, stat, options);
  } finally {
    if (db.inTransaction) db.exec('COMMIT');
  }
}

function collectNow(db: Database.Database, store: Store, stat: FileStat, options: CollectOptions): FileFacts {
  const userVersion = db.pragma('user_version', { simple: true }) as number;
  // Read through the connection like user_version (the look reads no header bytes itself), and
  // only for a store that declares one: nothing else looks at it.
  const applicationId = store.applicationId === null ? undefined : (db.pragma('application_id', { simple: true }) as number);
  const full = readMaster(db);
  const inRange = userVersion >= store.minVersion && userVersion <= store.version;
  // The usual case, a listing the usual road leaves: nothing in it is another program's, so the
  // exclusion layer has nothing to take out (worked out once per store and version).
  const known = inRange && isKnownListing(store, userVersion, full);
  const plain = known && listingsArePlain(store, userVersion);
  // What other programs own is left out of every comparison: the listing and the snapshot.
  const { kept: master, left, unignorable } = plain ? { kept: full, left: [], unignorable: [] } : partition(full, exclusionFor(store, userVersion));
  const matchesVersion = plain || (inRange && (master === full ? known : isKnownListing(store, userVersion, master)));
  const snapshot = matchesVersion ? null : excludeFromSnapshot(inspectCached(db, full), left);
  const integrity = options.integrity ? quickCheck(db) : null;
  const deadTablesWithRows = userVersion === 0 ? deadTablesHoldingRows(db, store, master) : [];
  const history = userVersion === 0 && store.legacy.history.length > 0 ? readHistories(db, store, full) : [];
  const keptBy = userVersion === 0 && history.length === 0 ? toolsKeeping(db, store, master) : [];
  // Only a write compares it (nobody committed since the look: see apply), and a file at its
  // version with its listing is never written. A write without it reads the file again.
  const dataVersion = matchesVersion && userVersion === store.version ? undefined : (db.pragma('data_version', { simple: true }) as number);
  return {
    ...stat,
    userVersion,
    applicationId,
    master,
    matchesVersion,
    snapshot,
    integrity,
    deadTablesWithRows,
    error: null,
    dataVersion,
    ...(left.length > 0 ? { excluded: left } : {}),
    ...(unignorable.length > 0 ? { unignorable } : {}),
    ...(history.length > 0 ? { history } : {}),
    ...(keptBy.length > 0 ? { keptBy } : {}),
  };
}

/** The legacy rules' dead tables present in the file that hold rows (legacy files only). */
function deadTablesHoldingRows(db: Database.Database, store: Store, master: readonly MasterRow[]): string[] {
  if (store.legacy.deadTables.length === 0) return [];
  const present = new Set(master.filter((r) => r.type === 'table').map((r) => foldCase(r.name)));
  return store.legacy.deadTables.filter((t) => present.has(foldCase(t)) && holdsRows(db, t));
}

/** True when the table holds rows, or cannot be read (a virtual table whose module is missing): then a backup is due. */
function holdsRows(db: Database.Database, table: string): boolean {
  try {
    return hasRows(db, table);
  } catch {
    return true;
  }
}

/**
 * True when two reads of a file found the same facts, as far as classification and planning
 * depend on them: the same plain SQLite file, read without error, passing quick_check where run,
 * at the same `user_version` and `application_id` with the same `sqlite_schema` rows and the same dead tables holding
 * rows. (Sizes, the -wal and `data_version` may differ: rows come and go.)
 */
export function sameFacts(a: FileFacts, b: FileFacts): boolean {
  const clean = (f: FileFacts) => f.kind === 'file' && !f.link && f.size > 0 && f.error === null && f.master !== null && (f.integrity === null || f.integrity === 'ok');
  return (
    clean(a) &&
    clean(b) &&
    a.userVersion === b.userVersion &&
    (a.applicationId ?? 0) === (b.applicationId ?? 0) &&
    sameMaster(a.master!, b.master!) &&
    a.deadTablesWithRows.length === b.deadTablesWithRows.length &&
    a.deadTablesWithRows.every((t, i) => t === b.deadTablesWithRows[i]) &&
    // Another tool's history can change without the schema changing (a lock taken, a row marked failed).
    JSON.stringify(a.history ?? []) === JSON.stringify(b.history ?? [])
  );
}

/** `PRAGMA quick_check`: 'ok', or the problems found. */
const plainListings = new WeakMap<Store, Map<number, boolean>>();

/**
 * True when the exclusion layer leaves nothing out of any known listing of `store` at version
 * `v` (no ignore pattern or sidecar name matches one of the store's own objects): a file with
 * such a listing is compared as it is. Partitioning a listing depends only on its rows, so this
 * is what `partition` would find on such a file.
 */
function listingsArePlain(store: Store, v: number): boolean {
  let perVersion = plainListings.get(store);
  if (!perVersion) plainListings.set(store, (perVersion = new Map()));
  let plain = perVersion.get(v);
  if (plain === undefined) {
    const exclusion = exclusionFor(store, v);
    const listings = v === store.version ? [store.expect.baselineMaster] : listingsAt(store, v);
    plain = listings.every((l) => {
      const p = partition(l, exclusion);
      return p.left.length === 0 && p.unignorable.length === 0;
    });
    perVersion.set(v, plain);
  }
  return plain;
}

export function quickCheck(db: Database.Database): string {
  return (db.pragma('quick_check') as { quick_check: string }[]).map((r) => r.quick_check).join('; ');
}

/** Facts for a file that could not be read (or needs no reading). */
export function unreadFacts(stat: FileStat, error: { code: string; message: string } | null): FileFacts {
  return {
    ...stat,
    userVersion: null,
    master: null,
    matchesVersion: false,
    snapshot: null,
    integrity: null,
    deadTablesWithRows: [],
    error,
  };
}

/**
 * True when `db` holds its file in exclusive locking mode in WAL mode: its lock keeps every
 * other connection out, readers included, from its first read until it closes.
 */
export function holdsExclusively(db: Database.Database): boolean {
  return db.pragma('locking_mode', { simple: true }) === 'exclusive' && db.pragma('journal_mode', { simple: true }) === 'wal';
}

/** The busy timeout a store's connections use (its `busy_timeout` setting, else 5 s). */
export function busyTimeout(store: Store): number {
  const v = store.connection.busy_timeout;
  return typeof v === 'number' ? v : 5000;
}

/**
 * Opens a connection that reads without leaving anything behind (see the module comment).
 * Returns null when the file needs no connection (missing, empty, not SQLite).
 */
export function openForProbe(stat: FileStat, store: Store): Database.Database | null {
  if (stat.kind !== 'file' || stat.link || stat.size === 0 || !stat.header?.sqlite) return null;
  const readonly = !stat.header.wal || stat.walBytes > 0 || stat.journal;
  const db = new Database(stat.file, { readonly, fileMustExist: true, timeout: busyTimeout(store) });
  try {
    assertSameFile(stat); // SQLite follows symbolic links: the name must still hold the file lstat'ed
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/**
 * Opens a connection to `file` only if a plain file (no symbolic link at it or at a companion)
 * stands at its name before and after the open. Throws an error with code `ESTORECHANGED`
 * otherwise (classify the file again to say what is there).
 */
export function openPlainFile(file: string, options: Database.Options): Database.Database {
  const stat = entryStat(file);
  if (stat.kind !== 'file' || stat.link) {
    const what = stat.link ? `${stat.link.path} is a symbolic link to ${stat.link.target}` : `${file} is ${stat.kind === 'missing' ? 'missing' : `a ${stat.kind}`}`;
    throw Object.assign(new Error(`${what}; not opened`), { code: 'ESTORECHANGED' });
  }
  const db = new Database(file, options);
  try {
    assertSameFile(stat);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** Stats, opens read-only-safely, collects, closes. Never throws for a bad file. */
export function probe(file: string, store: Store, options: CollectOptions = {}): FileFacts {
  let stat: FileStat;
  try {
    stat = statFile(file);
  } catch (err) {
    return unreadFacts({ file, kind: 'other', size: 0, walBytes: 0, journal: false, header: null }, errorFacts(err));
  }
  let db: Database.Database | null = null;
  try {
    db = openForProbe(stat, store);
    if (!db) return unreadFacts(stat, null);
    return collect(db, store, stat, options);
  } catch (err) {
    return unreadFacts(stat, errorFacts(err));
  } finally {
    db?.close();
  }
}

/** True when the facts show a hot journal: a writer crashed mid-transaction in rollback mode. */
export function hasHotJournal(facts: FileFacts): boolean {
  return facts.error?.code === 'SQLITE_READONLY_ROLLBACK';
}

/**
 * Rolls back a hot journal the way any SQLite writer would on its first read: the file returns
 * to its last committed state. Only commands that write (`up`, `adopt`, `openStores`) do this.
 */
export function recoverHotJournal(file: string, store: Store): void {
  const db = openPlainFile(file, { fileMustExist: true, timeout: busyTimeout(store) });
  try {
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
  } finally {
    db.close();
  }
}
