/**
 * Cleaning a data dir: the files `stores` itself left beside the store files. Leftovers of
 * interrupted runs (`<file>.backup-<stamp>.partial`, `.<file>.stores-new-<pid>-<id>`) always;
 * full backups (`<file>.backup-<stamp>`) only when asked, by count and by age.
 *
 * Never while another process works on the dir: every existing store file's write lock is taken
 * first (`BEGIN IMMEDIATE` without waiting; the engine writes backups and partial backups only
 * under that lock), and a dir where one is held is left whole. Files being created carry their
 * creator's pid in their name: one whose process is alive is kept.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Registry, Store } from './types.js';
import { isBusy, statFile } from './engine/probe.js';

export interface CleanOptions {
  /** Keep the N newest backups of each store file (the others may go). */
  readonly keep?: number;
  /** Backups older than this many milliseconds may go. */
  readonly olderThanMs?: number;
  /** List what would go, remove nothing. */
  readonly dryRun?: boolean;
  /** The clock (tests). */
  readonly now?: Date;
}

/** One file removed (or, in a dry run, to be removed), or kept with the reason. */
export interface CleanEntry {
  readonly file: string;
  readonly store: string;
  readonly kind: 'partial-backup' | 'unfinished-create' | 'backup';
  readonly bytes: number;
  readonly reason: string;
}

export interface CleanDirReport {
  readonly path: string;
  readonly removed: readonly CleanEntry[];
  readonly kept: readonly CleanEntry[];
  /** Set when nothing was removed because another process holds a store file of the dir. */
  readonly busy: string | null;
}

const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/;

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The time in a backup stamp (`20261121T083405123Z`, see `backupName`), or null. */
export function stampTime(stamp: string): Date | null {
  const m = STAMP.exec(stamp);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, ms] = m.map(Number) as [number, number, number, number, number, number, number, number];
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
  return Number.isNaN(t.getTime()) ? null : t;
}

/** `7d`, `12h`, `30m`, `45s`, `2w` → milliseconds; null for anything else. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+)(s|m|h|d|w)$/.exec(text.trim());
  if (!m) return null;
  const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}

/** True when a process with this pid exists (EPERM: it exists, owned by someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function size(file: string): number {
  return fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}

/**
 * Takes the write lock of every existing store file of `dir` without waiting. Returns the open
 * connections (the caller rolls back and closes them), or the reason the dir is busy.
 */
function lockStores(registry: Registry, dir: string): { locks: Database.Database[]; busy: string | null } {
  const locks: Database.Database[] = [];
  for (const s of registry.stores) {
    const file = path.join(dir, s.file);
    const st = statFile(file);
    if (st.kind === 'missing') continue;
    // A -journal beside a file: a writer is at work, or crashed (then `up` or `check` recovers it).
    if (st.journal) return { locks, busy: `${file}-journal exists: a writer is at work or crashed mid-write; run stores check, then clean again` };
    if (st.kind !== 'file' || !st.header?.sqlite) continue;
    let db: Database.Database | null = null;
    try {
      db = new Database(file, { fileMustExist: true, timeout: 0 });
      db.exec('BEGIN IMMEDIATE');
      locks.push(db);
    } catch (err) {
      db?.close();
      const why = isBusy(err) ? 'another process holds its write lock (a stores run or the app is writing)' : `cannot take its write lock: ${(err as Error).message}`;
      return { locks, busy: `${file}: ${why}` };
    }
  }
  return { locks, busy: null };
}

function release(locks: readonly Database.Database[]): void {
  for (const db of locks) {
    try {
      if (db.inTransaction) db.exec('ROLLBACK');
    } finally {
      db.close();
    }
  }
}

/** Sorts one store's files in a dir into removed and kept (nothing is removed here). */
function sortOut(store: Store, dir: string, names: readonly string[], options: CleanOptions): { removed: CleanEntry[]; kept: CleanEntry[] } {
  const f = escape(store.file);
  const partial = new RegExp(`^${f}\\.backup-(\\d{8}T\\d{9}Z)\\.partial$`);
  const creating = new RegExp(`^\\.${f}\\.stores-new-(\\d+)-[a-z0-9]+(-journal|-wal|-shm)?$`);
  const backup = new RegExp(`^${f}\\.backup-(\\d{8}T\\d{9}Z)$`);
  const removed: CleanEntry[] = [];
  const kept: CleanEntry[] = [];
  const entry = (name: string, kind: CleanEntry['kind'], reason: string): CleanEntry => ({ file: path.join(dir, name), store: store.name, kind, bytes: size(path.join(dir, name)), reason });
  const backups: { name: string; at: Date }[] = [];
  for (const name of names) {
    // Regular files only: a directory or symbolic link with such a name is not ours.
    if (!fs.lstatSync(path.join(dir, name), { throwIfNoEntry: false })?.isFile()) continue;
    if (partial.test(name)) removed.push(entry(name, 'partial-backup', 'a backup an interrupted run did not finish'));
    else {
      const c = creating.exec(name);
      if (c) {
        const pid = Number(c[1]);
        if (pid !== process.pid && alive(pid)) kept.push(entry(name, 'unfinished-create', `process ${pid} is alive and may still be creating ${store.file}`));
        else removed.push(entry(name, 'unfinished-create', `a file an interrupted run was creating (process ${pid} is gone)`));
        continue;
      }
      const b = backup.exec(name);
      const at = b ? stampTime(b[1]!) : null;
      if (at) backups.push({ name, at });
    }
  }
  if (options.keep === undefined && options.olderThanMs === undefined) return { removed, kept };
  const now = (options.now ?? new Date()).getTime();
  backups.sort((a, b) => b.at.getTime() - a.at.getTime());
  backups.forEach(({ name, at }, i) => {
    const beyond = options.keep === undefined || i >= options.keep;
    const old = options.olderThanMs === undefined || now - at.getTime() > options.olderThanMs;
    if (!beyond || !old) return;
    const file = path.join(dir, name);
    const st = statFile(file);
    // Ours only: a SQLite file at a version of this store, nothing open on it.
    const ours = st.kind === 'file' && st.header?.sqlite === true && st.header.userVersion >= 0 && st.header.userVersion <= store.version;
    const inUse = ['-wal', '-shm', '-journal'].some((c) => fs.existsSync(`${file}${c}`));
    const why = `backup taken ${at.toISOString()}${options.keep !== undefined ? `, beyond the ${options.keep} newest` : ''}${options.olderThanMs !== undefined ? ', older than the limit' : ''}`;
    if (!ours) kept.push(entry(name, 'backup', `not a SQLite file of ${store.name} at v${store.version} or below: not written by stores, left alone`));
    else if (inUse) kept.push(entry(name, 'backup', 'a -wal, -shm or -journal beside it: some program has it open, left alone'));
    else removed.push(entry(name, 'backup', why));
  });
  return { removed, kept };
}

/**
 * Cleans one data dir (see the module comment). Never throws for a busy dir: it is reported.
 * @throws when the dir cannot be read.
 */
export function cleanDir(registry: Registry, dataDir: string, options: CleanOptions = {}): CleanDirReport {
  const dir = path.resolve(dataDir);
  fs.readdirSync(dir);
  const { locks, busy } = lockStores(registry, dir);
  try {
    if (busy) return { path: dir, removed: [], kept: [], busy };
    // Listed under the locks: no run of ours can finish or start a backup meanwhile.
    const names = fs.readdirSync(dir).sort();
    const removed: CleanEntry[] = [];
    const kept: CleanEntry[] = [];
    for (const s of registry.stores) {
      const r = sortOut(s, dir, names, options);
      removed.push(...r.removed);
      kept.push(...r.kept);
    }
    if (!options.dryRun) for (const e of removed) fs.rmSync(e.file, { force: true });
    return { path: dir, removed, kept, busy: null };
  } finally {
    release(locks);
  }
}
