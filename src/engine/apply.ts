/**
 * Applying a plan: one transaction per store file. Foreign keys are switched off around it
 * (outside the transaction, where the pragma has effect), the file is re-read and re-classified
 * under the write lock, a backup (a full copy of the file) is taken before a step that destroys
 * or rebuilds, the steps run (a JavaScript step watched for what it destroys),
 * the result is verified by meaning, `foreign_key_check` must be clean, `user_version` is
 * stamped, and only then does it commit. Any failure rolls everything back.
 *
 * See https://www.sqlite.org/lang_altertable.html#otheralter for the foreign-key procedure.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Store } from '../types.js';
import { diff, summarizeChanges } from '../schema/diff.js';
import { inspect, readMaster, sameMaster } from '../schema/inspect.js';
import type { Change, MasterRow } from '../schema/model.js';
import { quoteString } from '../sql/tokens.js';
import { classify, type Classification } from './classify.js';
import { plan as makePlan, type Plan, type PlanOptions } from './plan.js';
import { busyTimeout, collect, errorFacts, holdsExclusively, isBusy, quickCheck, sameFacts, statUnderConnection, unreadFacts, type FileFacts, type FileStat } from './probe.js';
import { DestructiveError, runMigration } from './destructive.js';
import { migratedListings } from './listings.js';
import { danglingRowsMessage } from './dangling.js';
import { execStep } from './adopt.js';
import { exclusionFor } from './history.js';
import { excludeFromSnapshot, partition } from '../schema/exclude.js';
import { DataError, runCounted, type DataFinding } from './data-check.js';

/** The file's schema after the steps is not what the version must be: rolled back. */
export class VerifyError extends Error {
  override readonly name = 'VerifyError';
  constructor(
    message: string,
    readonly changes: readonly Change[],
  ) {
    super(message);
  }
}

export interface ApplyOptions extends PlanOptions {
  /** Take a backup before dropping a table that holds rows (default true). */
  readonly backup?: boolean;
  /** Clock for backup names (tests inject one). */
  readonly now?: () => Date;
}

/** What happened to one store file under its write lock. */
export interface Outcome {
  readonly classification: Classification;
  readonly facts: FileFacts;
  /** The plan run (null when none was needed or it was refused). */
  readonly plan: Plan | null;
  /** Why nothing was done, when `plan` is null. */
  readonly reason?: string;
  readonly refused: boolean;
  readonly backup: string | null;
}

/**
 * What the look found and decided, handed to the write so that it is not worked out twice: under
 * the write lock the facts are read again (or proved unchanged), and the classification and the
 * plan are worked out again only if those facts differ.
 */
export interface Decided {
  readonly facts: FileFacts;
  readonly classification: Classification;
  readonly plan: Plan;
  /** The facts were read through the connection the write runs on (its data_version tells whether anyone committed since). */
  readonly sameConnection: boolean;
}

/** `objects.db.backup-20261121T083405123Z`: never the name of a store file. */
export function backupName(file: string, now: Date): string {
  return `${file}.backup-${now.toISOString().replace(/[-:.]/g, '')}`;
}

/**
 * Writes a consistent copy of `file` beside it with `VACUUM INTO`, from a separate read-only
 * connection (it sees the last committed state while the caller holds the write lock) or from
 * `via`, a connection outside any transaction that holds the file exclusively; to a `.partial`
 * name renamed into place once complete. Keeps the source's permission bits.
 */
export function takeBackup(file: string, now: Date, via?: Database.Database): string {
  const target = backupName(file, now);
  const partial = `${target}.partial`;
  const reader = via ?? new Database(file, { readonly: true, fileMustExist: true });
  try {
    reader.exec(`VACUUM INTO ${quoteString(partial)}`);
  } catch (err) {
    fs.rmSync(partial, { force: true });
    throw err;
  } finally {
    if (!via) reader.close();
  }
  fs.chmodSync(partial, fs.statSync(file).mode & 0o7777);
  fs.renameSync(partial, target);
  return target;
}

/** Throws unless the file now has exactly the baseline schema and clean foreign keys. */
export function verifyResult(db: Database.Database, store: Store, what: string, from?: number): void {
  // sqlite_schema equal, letter for letter, to the baseline's (a fresh file) or to what the usual
  // road from `from` leaves (a migrated file) is equal by meaning: no full introspection needed.
  // What other programs own (ignored tables, their indexes) is left out, as when the file was read.
  const full = readMaster(db);
  const { kept: master, left } = partition(full, exclusionFor(store, null));
  const known = sameMaster(master, store.expect.baselineMaster) || (from !== undefined && from > 0 && migratedListings(store, from).some((m) => sameMaster(master, m)));
  const changes = known ? [] : diff(store.expect.snapshots.get(store.version)!, excludeFromSnapshot(inspect(db, full), left));
  if (changes.length > 0) {
    throw new VerifyError(
      `after ${what}, the schema is not v${store.version}'s baseline: ${summarizeChanges(changes)}; rolled back, nothing changed — the registry's steps do not produce its baseline (run \`stores verify\`)`,
      changes,
    );
  }
  const dangling = danglingRowsMessage(db, what);
  if (dangling !== null) throw new VerifyError(dangling, []);
}

/**
 * Runs a plan's steps on `db` (inside the caller's transaction), then verifies. A SQL migration
 * runs counted (data-check.ts): what it does to the rows goes into `data` (by step index), and a
 * step the rows refuse throws {@link DataError}.
 */
export function runPlan(db: Database.Database, store: Store, p: Plan, data: (readonly DataFinding[] | undefined)[] = []): void {
  for (const [i, step] of p.steps.entries()) {
    if (step.kind === 'stamp') continue;
    const m = step.migration;
    if (m?.sql !== undefined) {
      try {
        data[i] = runCounted(db, { ...m, sql: m.sql }, step.tables ?? []);
      } catch (err) {
        if (err instanceof DataError) {
          data[i] = err.findings;
          throw new DataError(`${store.file}: ${err.message}; nothing was changed`, err.findings);
        }
        throw err;
      }
    } else if (m) runMigration(db, store.name, store.file, m);
    else execStep(db, step);
  }
  verifyResult(db, store, p.action === 'created' || p.action === 'initialized' ? 'creating it' : p.action === 'adopted' ? 'adoption' : p.action === 'repaired' ? 'repair' : 'migrating', p.action === 'migrated' ? p.from : undefined);
  // The header's application id is written through the transaction like user_version.
  if (store.applicationId !== null) db.pragma(`application_id = ${store.applicationId}`);
  db.pragma(`user_version = ${store.version}`);
}

/** True when the store's connection settings put its files in WAL mode (the one journal mode a file keeps). */
export function declaresWal(store: Store): boolean {
  const mode = store.connection.journal_mode;
  return typeof mode === 'string' && mode.toLowerCase() === 'wal';
}

/**
 * Sets the store's `page_size` and `auto_vacuum` on a connection to a file with no page yet,
 * outside any transaction: SQLite takes them only then (inside a transaction, or once the file
 * has a page, they are ignored, or need a VACUUM), and keeps them in the file.
 */
function applyFileSettings(db: Database.Database, store: Store): void {
  const { page_size: pageSize, auto_vacuum: autoVacuum } = store.fileSettings;
  if (pageSize !== undefined) db.pragma(`page_size = ${pageSize}`);
  if (autoVacuum !== undefined) db.pragma(`auto_vacuum = ${autoVacuum}`);
}

/**
 * Reconciles an open read-write connection to `stat.file` (or `:memory:`, `file` null): takes
 * the write lock, re-reads and re-classifies under it, plans, backs up, applies, verifies,
 * stamps and commits — or rolls back and reports why. Never throws for a bad file.
 */
export function reconcileConnection(db: Database.Database, stat: FileStat, store: Store, options: ApplyOptions = {}, decided?: Decided): Outcome {
  const fkBefore = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  db.pragma('legacy_alter_table = OFF');
  let facts: FileFacts | null = null;
  let cls: Classification | null = null;
  try {
    // A zero-byte file (`empty`) is born here: its file settings go in before its first page.
    const unborn = stat.file !== ':memory:' && stat.kind === 'file' && stat.size === 0;
    if (unborn) applyFileSettings(db, store);
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      const e = errorFacts(err);
      facts = unreadFacts(stat, e);
      cls = classify(facts, store);
      return { classification: cls, facts, plan: null, refused: true, reason: cls.message, backup: null };
    }
    // Under the write lock, the facts must be current: another process may have acted since they
    // were read. If this same connection read them and nobody committed since (data_version is
    // unchanged), they still hold; otherwise read everything again.
    const prior = decided?.sameConnection ? decided.facts : undefined;
    const unchanged = prior?.master && prior.error === null && prior.dataVersion !== undefined && db.pragma('data_version', { simple: true }) === prior.dataVersion;
    if (unchanged) facts = prior.integrity === null ? { ...prior, integrity: quickCheck(db) } : prior;
    else facts = collect(db, store, stat.file === ':memory:' ? stat : statUnderConnection(db, stat.file), { integrity: true });
    // The look's classification and plan hold as long as the facts they came from do.
    const same = decided !== undefined && sameFacts(decided.facts, facts);
    cls = same ? decided.classification : classify(facts, store);
    const result = same ? { plan: decided.plan } : makePlan(cls, store, facts, options);
    if ('none' in result) {
      db.exec('ROLLBACK');
      return { classification: cls, facts, plan: null, refused: result.none === 'refused', reason: result.reason, backup: null };
    }
    const p = result.plan;
    let backup: string | null = null;
    if (p.backupFor.length > 0 && options.backup !== false && stat.file !== ':memory:') {
      const now = (options.now ?? (() => new Date()))();
      if (holdsExclusively(db)) {
        // Nobody else can read or write the file (nor take a connection of its own for the
        // backup): the backup reads through this one, between two transactions, and the facts
        // read under the lock still hold.
        db.exec('COMMIT');
        backup = takeBackup(stat.file, now, db);
        db.exec('BEGIN IMMEDIATE');
      } else backup = takeBackup(stat.file, now);
    }
    runPlan(db, store, p);
    db.exec('COMMIT');
    if (p.action === 'initialized' && stat.file !== ':memory:') bornInJournalMode(db, store);
    return { classification: cls, facts, plan: p, refused: false, backup };
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    const e = errorFacts(err);
    facts ??= unreadFacts(stat, e);
    const base = cls ?? classify(facts, store);
    const reason =
      err instanceof VerifyError || err instanceof DestructiveError || err instanceof DataError
        ? err.message
        : cls === null
          ? base.message
          : isBusy(err)
            ? `${store.file} is locked by another connection past the busy timeout (${e.code}); retry when that writer is done`
            : `${e.code}: ${e.message}; rolled back, nothing changed`;
    return {
      classification: err instanceof VerifyError ? { ...base, changes: err.changes } : base,
      facts,
      plan: null,
      refused: true,
      reason,
      backup: null,
    };
  } finally {
    if (fkBefore) db.pragma('foreign_keys = ON');
  }
}

/**
 * Puts a file `up` just initialized in its store's journal mode (WAL is kept in the header, so a
 * program opening it before any host finds it in WAL mode). Best effort: the file is committed
 * already, and a connection another process holds on it makes the switch wait past the busy
 * timeout; the host's connection settings switch it on its next open.
 */
function bornInJournalMode(db: Database.Database, store: Store): void {
  if (!declaresWal(store)) return;
  try {
    db.pragma('journal_mode = WAL');
  } catch {
    // Left in rollback mode until a host opens it with its settings.
  }
}

/** Where a fresh file is built before it is linked into place. */
export function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.stores-new-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
}

/**
 * Creates a missing store file atomically: built and committed under a temporary name in the
 * same directory, then hard-linked into place (which fails if another process got there
 * first). A crash leaves either no file or a complete one. Returns false when another process
 * created the file meanwhile.
 */
export function createFresh(file: string, store: Store, p: Plan): boolean {
  return placeFresh(buildFresh(file, store, p), file);
}

/**
 * The bytes of the fresh files this process built, by store: a new file is the same bytes every
 * time (the same statements on an empty file), so SQLite builds it once, verified as any build is,
 * and the next files of that store are those bytes, written (a fleet of new data dirs does not run
 * the baseline's DDL again for each). Kept with the statements that built it, and used only for
 * the very same ones, once they prove {@link reproducible}. Filled by the first build.
 */
const images = new WeakMap<Store, { readonly sql: readonly string[]; readonly bytes: Buffer; reproducible?: boolean }>();

const stepsSql = (p: Plan): string[] => p.steps.map((s) => s.sql);
const sameSql = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The date and time functions: SQLite flags them deterministic, yet 'now' reads the clock (https://www.sqlite.org/deterministic.html). */
const CLOCK_FUNCTIONS = ['date', 'time', 'datetime', 'julianday', 'unixepoch', 'strftime', 'timediff'];

/**
 * True when a creation's statements give the same bytes on every empty file: run once in
 * `:memory:` with every built-in that may answer differently call to call made to fail (those
 * pragma function_list does not flag deterministic, randomblob() say, and the date and time
 * functions). A seed row holding randomblob(16) or datetime('now') is SQLite's to build for each
 * file, else every copy would hold the first file's.
 */
function reproducible(sql: readonly string[]): boolean {
  const db = new Database(':memory:');
  try {
    const varying = db.prepare("SELECT DISTINCT name FROM pragma_function_list WHERE builtin = 1 AND type = 's' AND (flags & 0x800) = 0").pluck().all() as string[];
    for (const name of [...varying, ...CLOCK_FUNCTIONS]) {
      db.function(name, { varargs: true }, () => {
        throw new Error(`${name}() may answer differently on another file`);
      });
    }
    for (const s of sql) db.exec(s);
    return true;
  } catch {
    return false;
  } finally {
    db.close();
  }
}

/**
 * The first half of {@link createFresh}: the file built and committed under its temporary name
 * (returned), not yet fsynced nor linked. Throws, leaving nothing behind, when the build fails.
 */
export function buildFresh(file: string, store: Store, p: Plan): string {
  const tmp = tempName(file);
  const sql = stepsSql(p);
  const image = images.get(store);
  try {
    if (image && sameSql(image.sql, sql) && (image.reproducible ??= reproducible(sql))) {
      // SQLite's own mode for new database files (0644, less the umask), as if it had made this one.
      fs.writeFileSync(tmp, image.bytes, { mode: 0o644, flag: 'wx' });
      return tmp;
    }
    const db = new Database(tmp, { timeout: busyTimeout(store) });
    try {
      // Nobody else can see this file until it is linked into place: atomicity comes from the
      // link, so the build needs no journal file and no fsync per commit; the finished file is
      // fsynced once, before the link.
      db.pragma('journal_mode = MEMORY');
      db.pragma('synchronous = OFF');
      db.pragma('foreign_keys = OFF');
      applyFileSettings(db, store);
      db.exec('BEGIN IMMEDIATE');
      try {
        runPlan(db, store, p);
        db.exec('COMMIT');
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw err;
      }
      // WAL is a setting of the file (bytes 18-19 of its header): switched on here, before the
      // link, the file is WAL from the instant it appears. The switch writes only the header;
      // the -wal it opens is empty and goes away with this connection. The -wal and -shm of the
      // linked file are named after the file, and SQLite creates them on its first open.
      if (declaresWal(store)) db.pragma('journal_mode = WAL');
      // The bytes as this connection built them (the file's, once closed: nothing is left in its
      // -wal), not read back from the temporary name, which anyone who may write in the data dir
      // could replace meanwhile: what they put there would become every other dir's file. The
      // same statements built again (not reproducible): the verdict is kept.
      if (!(image && sameSql(image.sql, sql))) images.set(store, { sql, bytes: db.serialize() });
    } finally {
      db.close();
    }
    return tmp;
  } catch (err) {
    discardFresh(tmp);
    throw err;
  }
}

/** The second half of {@link createFresh}: fsync, link into place, fsync the directory; the temporary name removed. */
export function placeFresh(tmp: string, file: string): boolean {
  try {
    fsyncFile(tmp);
    if (!linkInto(tmp, file)) return false;
    syncDir(path.dirname(file));
    return true;
  } finally {
    discardFresh(tmp);
  }
}

/** Links a built file at its name: true, or false when another process created a file there first. */
function linkInto(tmp: string, file: string): boolean {
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * {@link placeFresh} for several files built at once (the missing stores of a data dir): their
 * fsyncs run together, on libuv's threads, where one after the other each would wait for the disk
 * alone; then each is linked, and each directory fsynced once. Each result: true (placed), false
 * (another process created the file first), or the error that kept it out. The temporary names
 * are removed whatever happens.
 */
export async function placeFreshTogether(items: readonly { readonly tmp: string; readonly file: string }[]): Promise<(boolean | Error)[]> {
  try {
    const synced = await Promise.allSettled(items.map((i) => fsyncFileAsync(i.tmp)));
    const placed = items.map((item, k): boolean | Error => {
      const s = synced[k]!;
      if (s.status === 'rejected') return s.reason instanceof Error ? s.reason : new Error(String(s.reason));
      try {
        return linkInto(item.tmp, item.file);
      } catch (err) {
        return err as Error;
      }
    });
    for (const dir of new Set(items.filter((_, k) => placed[k] === true).map((i) => path.dirname(i.file)))) syncDir(dir);
    return placed;
  } finally {
    for (const item of items) {
      try {
        discardFresh(item.tmp);
      } catch {
        // Left for `stores clean` (a temporary name is never taken for a store): the placements stand.
      }
    }
  }
}

/** Removes a temporary build and whatever companions SQLite left beside it. */
export function discardFresh(tmp: string): void {
  for (const suffix of ['', '-journal', '-wal', '-shm']) fs.rmSync(`${tmp}${suffix}`, { force: true });
}

function fsyncFileAsync(file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.open(file, 'r+', (err, fd) => {
      if (err) return reject(err);
      fs.fsync(fd, (syncErr) => fs.close(fd, (closeErr) => (syncErr || closeErr ? reject(syncErr ?? closeErr) : resolve())));
    });
  });
}

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Not every platform lets a directory be fsynced; the link itself is atomic.
  }
}
