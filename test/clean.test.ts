/**
 * `stores clean`: what it removes (leftovers of interrupted runs; backups by count and age),
 * what it never touches (store files, files it did not write, files a live process is writing),
 * and that it does nothing while another process holds a store file's write lock.
 *
 * Run `npx tsc -p .` first: these tests spawn the built CLI.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { takeBackup } from '../src/engine/apply.js';
import { parseDuration, stampTime } from '../src/clean.js';
import { cli, fingerprint, tmpDir } from './helpers.js';

const DAY = 86_400_000;
/** Above Linux's largest pid (2^22): no process has it. */
const DEAD_PID = 9_999_999;

function listing(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

/** A data dir `up` made current, with backups of objects.db taken `ages` days ago (real VACUUM INTO copies). */
function dirWithBackups(ages: number[]): { dir: string; backups: string[] } {
  const dir = path.join(tmpDir(), 'data', '1.5.0');
  const r = cli(['up', dir]);
  expect(r.code, r.stderr).toBe(0);
  const now = Date.now();
  const backups = ages.map((a) => takeBackup(path.join(dir, 'objects.db'), new Date(now - a * DAY)));
  // The file is in WAL mode from birth: the backups' read-only connections leave a -wal/-shm that
  // only a read-write connection removes when it closes (as a host's or up's would).
  const reader = new Database(path.join(dir, 'objects.db'));
  reader.pragma('user_version');
  reader.close();
  return { dir, backups };
}

function names(files: string[]): string[] {
  return files.map((f) => path.basename(f)).sort();
}

interface CleanJson {
  dryRun: boolean;
  dirs: { path: string; removed: { file: string; kind: string }[]; kept: { file: string; reason: string }[]; busy: string | null }[];
  summary: { dirs: number; removed: number; bytes: number; busy: number };
}

function json(stdout: string): CleanJson {
  return JSON.parse(stdout) as CleanJson;
}

describe('stores clean', () => {
  it('with no flag removes only the leftovers of interrupted runs, and lists them', () => {
    const { dir, backups } = dirWithBackups([10, 20]);
    const partial = path.join(dir, 'objects.db.backup-20260101T000000000Z.partial');
    const creating = path.join(dir, `.sagas.db.stores-new-${DEAD_PID}-abc123`);
    const creatingJournal = `${creating}-journal`;
    const live = path.join(dir, `.filestore.db.stores-new-${process.pid}-zz9`);
    // Not ours: another program's files, names that only look alike.
    const foreign = ['notes.txt', 'objects.db.backup-old', 'objects.db.bak', 'objects.db2.backup-20260101T000000000Z.partial', '.objects.db.stores-new-x'];
    for (const f of [partial, creating, creatingJournal, live]) fs.writeFileSync(f, 'x');
    for (const f of foreign) fs.writeFileSync(path.join(dir, f), 'keep me');
    // A directory and a symbolic link named like leftovers are not ours either.
    fs.mkdirSync(path.join(dir, 'objects.db.backup-20250101T000000000Z.partial'));
    fs.symlinkSync(path.join(dir, 'notes.txt'), path.join(dir, `.objects.db.stores-new-${DEAD_PID}-lnk`));
    foreign.push('objects.db.backup-20250101T000000000Z.partial', `.objects.db.stores-new-${DEAD_PID}-lnk`);
    const stores = ['filestore.db', 'objects.db', 'sagas.db'].map((f) => fingerprint(path.join(dir, f)));

    const r = cli(['clean', dir]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`removed ${path.basename(partial)}`);
    expect(r.stdout).toContain(`removed ${path.basename(creating)}`);
    expect(r.stdout).toMatch(new RegExp(`kept ${path.basename(live).replace(/\./g, '\\.')}: process ${process.pid} is alive`));
    expect(r.stdout).toMatch(/removed 3 files/);
    expect(listing(dir)).toEqual([...names(backups), ...foreign, path.basename(live), 'filestore.db', 'objects.db', 'sagas.db'].sort());
    expect(['filestore.db', 'objects.db', 'sagas.db'].map((f) => fingerprint(path.join(dir, f)))).toEqual(stores);
    // A second run has nothing left to do.
    const again = cli(['clean', dir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/removed 0 files/);
  });

  it('--keep N keeps the N newest backups of each store file', () => {
    const { dir, backups } = dirWithBackups([1, 5, 3, 9]);
    const r = cli(['clean', dir, '--keep', '2', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const doc = json(r.stdout);
    // Newest: 1 and 3 days old.
    expect(names(doc.dirs[0]!.removed.map((e) => e.file))).toEqual(names([backups[1]!, backups[3]!]));
    expect(doc.dirs[0]!.removed.every((e) => e.kind === 'backup')).toBe(true);
    expect(listing(dir)).toEqual([...names([backups[0]!, backups[2]!]), 'filestore.db', 'objects.db', 'sagas.db'].sort());
  });

  it('--older-than D removes backups older than D; with --keep, only those beyond N and older than D', () => {
    const a = dirWithBackups([1, 5, 10, 40]);
    const r = cli(['clean', a.dir, '--older-than', '7d']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(listing(a.dir).filter((f) => f.includes('.backup-'))).toEqual(names([a.backups[0]!, a.backups[1]!]));

    const b = dirWithBackups([1, 5, 10, 40]);
    // Beyond the 3 newest: only the 40-day-old one; older than 2d: 5, 10, 40. Both: 40 only.
    const both = cli(['clean', b.dir, '--keep', '3', '--older-than', '2d', '--json']);
    expect(both.code, both.stderr).toBe(0);
    expect(names(json(both.stdout).dirs[0]!.removed.map((e) => e.file))).toEqual(names([b.backups[3]!]));
    expect(listing(b.dir).filter((f) => f.includes('.backup-'))).toEqual(names(b.backups.slice(0, 3)));
  });

  it('never removes a backup-named file that is not a SQLite file of that store', () => {
    const { dir, backups } = dirWithBackups([30]);
    const fake = path.join(dir, 'objects.db.backup-20200101T000000000Z');
    fs.writeFileSync(fake, 'not sqlite at all, but named like a backup');
    // A SQLite file claiming a version the store never had.
    const future = path.join(dir, 'sagas.db.backup-20200101T000000000Z');
    const db = new Database(future);
    db.exec('CREATE TABLE t (x)');
    db.pragma('user_version = 99');
    db.close();
    const r = cli(['clean', dir, '--keep', '0']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/kept objects\.db\.backup-20200101T000000000Z: not a SQLite file of objects/);
    expect(r.stdout).toMatch(/kept sagas\.db\.backup-20200101T000000000Z: not a SQLite file of sagas/);
    expect(fs.readFileSync(fake, 'utf8')).toBe('not sqlite at all, but named like a backup');
    expect(fs.existsSync(future)).toBe(true);
    expect(fs.existsSync(backups[0]!)).toBe(false);
  });

  it('--dry-run lists what would go, removes nothing, exit 3 (0 when nothing would go)', () => {
    const { dir } = dirWithBackups([10, 20]);
    fs.writeFileSync(path.join(dir, 'objects.db.backup-20260101T000000000Z.partial'), 'x');
    const before = listing(dir);
    const r = cli(['clean', dir, '--keep', '1', '--dry-run']);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stdout).toMatch(/would remove 2 files/);
    expect(listing(dir)).toEqual(before);
    const j = cli(['clean', dir, '--keep', '1', '--dry-run', '--json']);
    expect(json(j.stdout).dryRun).toBe(true);
    expect(json(j.stdout).summary.removed).toBe(2);
    expect(cli(['clean', dir, '--keep', '5', '--dry-run']).code).toBe(3);
    fs.rmSync(path.join(dir, 'objects.db.backup-20260101T000000000Z.partial'));
    expect(cli(['clean', dir, '--keep', '5', '--dry-run']).code).toBe(0);
  });

  it('does nothing in a dir where another process holds a store file, exit 4', () => {
    const { dir } = dirWithBackups([10, 20]);
    fs.writeFileSync(path.join(dir, 'objects.db.backup-20260101T000000000Z.partial'), 'x');
    const other = dirWithBackups([10, 20]);
    const holder = new Database(path.join(dir, 'sagas.db'));
    holder.exec('BEGIN IMMEDIATE');
    // The holder's own -wal/-shm (the file is in WAL mode from birth) are part of what must stay.
    const before = listing(dir);
    try {
      const r = cli(['clean', dir, other.dir, '--keep', '0']);
      expect(r.code, r.stdout + r.stderr).toBe(4);
      expect(r.stdout).toMatch(/skipped, nothing removed: .*sagas\.db: another process holds its write lock/);
      expect(listing(dir)).toEqual(before);
      // The other dir is cleaned.
      expect(listing(other.dir)).toEqual(['filestore.db', 'objects.db', 'sagas.db']);
      const j = cli(['clean', dir, '--json']);
      expect(j.code).toBe(4);
      expect(json(j.stdout).dirs[0]!.busy).toMatch(/sagas\.db/);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect(cli(['clean', dir]).code).toBe(0);
    expect(listing(dir)).toEqual(before.filter((f) => !f.endsWith('.partial') && !f.startsWith('sagas.db-')));
  });

  it('--root cleans every data dir under it', () => {
    const a = dirWithBackups([10]);
    const root = path.dirname(path.dirname(a.dir));
    const b = path.join(root, 'data', '1.6.0');
    expect(cli(['up', b]).code).toBe(0);
    fs.writeFileSync(path.join(b, 'objects.db.backup-20260101T000000000Z.partial'), 'x');
    const r = cli(['clean', '--root', root, '--keep', '0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r.stdout).dirs.map((d) => d.path)).toEqual([a.dir, b]);
    expect(json(r.stdout).summary.removed).toBe(2);
  });

  it('usage errors: bad --keep, bad --older-than, no dir, exit 2', () => {
    const d = tmpDir();
    for (const args of [
      ['clean', d, '--keep', '-1'],
      ['clean', d, '--keep', 'lots'],
      ['clean', d, '--older-than', '7'],
      ['clean', d, '--older-than', 'a week'],
      ['clean'],
      ['clean', path.join(d, 'absent')],
    ]) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^stores: /);
    }
  });

  it('reads durations and backup stamps', () => {
    expect(parseDuration('7d')).toBe(7 * DAY);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('30m')).toBe(30 * 60_000);
    expect(parseDuration('2w')).toBe(14 * DAY);
    expect(parseDuration('7')).toBeNull();
    expect(stampTime('20261121T083405123Z')?.toISOString()).toBe('2026-11-21T08:34:05.123Z');
    expect(stampTime('2026112T083405123Z')).toBeNull();
  });
});
