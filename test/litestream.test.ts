/**
 * Litestream for real (issue 13 item 3): a store file replicated by a running `litestream
 * replicate` (v0.3, the npm package's binary) to a local file replica. The file is `current` for
 * `check` with Litestream's `_litestream_seq`/`_litestream_lock` in it; `up` migrates it while
 * Litestream runs; the replica, restored with `litestream restore`, is at the new version with
 * every row; the sidecar tables survive every reconcile. Every wait is on a condition, bounded in
 * time; Litestream is stopped in afterAll.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../src/api.js';
import { openStores } from '../src/boot.js';
import { reconcileStore } from '../src/engine/reconcile.js';
import type { StoreDefinition } from '../src/types.js';
import { ROOT, tmpDir } from './helpers.js';

/** The platform binary `@flydotio/litestream` installs (its `bin` is a node wrapper around it: spawned directly, so killing it stops Litestream). */
const BINARY = path.join(ROOT, 'node_modules', '@flydotio', `litestream-${process.platform}-${process.arch}`, 'litestream');
const HAVE = fs.existsSync(BINARY);

const V1 = 'CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL);';
const V2 = `CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL, words INTEGER NOT NULL DEFAULT 0);
CREATE INDEX note_words ON note (words);`;
const MIGRATION = `ALTER TABLE note ADD COLUMN words INTEGER NOT NULL DEFAULT 0;
UPDATE note SET words = length(body) - length(replace(body, ' ', '')) + 1;
CREATE INDEX note_words ON note (words);`;
const ROWS = 500;

const base = { name: 'notes', file: 'notes.db', minVersion: 1, connection: { busy_timeout: 10_000, journal_mode: 'WAL', synchronous: 'NORMAL' } } as const;
const v1: StoreDefinition = { ...base, version: 1, schema: V1 };
const v2: StoreDefinition = { ...base, version: 2, schema: V2, oldestSchema: V1, migrations: [{ version: 2, name: '002-words.sql', sql: MIGRATION }] };
const storeV1 = () => createRegistry([v1]).stores[0]!;
const registryV2 = () => createRegistry([v2]);

/** Polls `probe` until it returns a value (not undefined), at most `ms`; each miss waits `every` ms. */
async function until<T>(what: string, ms: number, probe: () => T | undefined, every = 100): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}\n${log()}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

let dir = '';
let file = '';
let config = '';
let litestream: ChildProcess | null = null;
let output = '';
const log = () => `litestream output:\n${output.slice(-3000)}`;

/** Reads a file's tables and user_version through an ordinary connection (which, not being the last one while Litestream runs, checkpoints nothing). */
function look(f: string): { tables: string[]; version: number; rows: number | null } {
  const db = new Database(f, { fileMustExist: true, timeout: 10_000 });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all() as string[];
    const rows = tables.includes('note') ? (db.prepare('SELECT count(*) FROM note').pluck().get() as number) : null;
    return { tables, version: db.pragma('user_version', { simple: true }) as number, rows };
  } finally {
    db.close();
  }
}

/** Restores the replica into a fresh file (`litestream restore -o`); null while there is nothing to restore yet. */
function restore(): string | null {
  const out = path.join(tmpDir('stores-litestream-restore-'), 'notes.db');
  const r = spawnSync(BINARY, ['restore', '-config', config, '-o', out, file], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0 || !fs.existsSync(out)) {
    output += `restore: ${r.stdout}${r.stderr}`;
    return null;
  }
  return out;
}

describe.skipIf(!HAVE)('Litestream replicating a store file', () => {
  beforeAll(async () => {
    const root = tmpDir('stores-litestream-');
    dir = path.join(root, 'data');
    file = path.join(dir, 'notes.db');
    // The file up creates is WAL from birth, as Litestream needs.
    expect(reconcileStore(storeV1(), dir, { mode: 'up' }).action).toBe('created');
    const db = new Database(file);
    const insert = db.prepare('INSERT INTO note (body) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < ROWS; i++) insert.run(`note number ${i} has some words`);
    })();
    db.close();
    config = path.join(root, 'litestream.yml');
    fs.writeFileSync(
      config,
      [
        'dbs:',
        `  - path: ${file}`,
        '    monitor-interval: 100ms',
        '    replicas:',
        '      - type: file',
        `        path: ${path.join(root, 'replica')}`,
        '        sync-interval: 100ms',
        '',
      ].join('\n'),
    );
    litestream = spawn(BINARY, ['replicate', '-config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    litestream.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    litestream.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    // Litestream creates its tables in the file when it starts replicating it.
    await until('Litestream to add _litestream_seq and _litestream_lock', 60_000, () => {
      const t = look(file).tables;
      return t.includes('_litestream_seq') && t.includes('_litestream_lock') ? true : undefined;
    });
  }, 90_000);

  afterAll(async () => {
    if (!litestream || litestream.exitCode !== null) return;
    const exited = new Promise((r) => litestream!.once('exit', r));
    litestream.kill('SIGTERM');
    const timer = setTimeout(() => litestream?.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  });

  it('check finds the replicated file current, its sidecar tables beside ours', () => {
    expect(litestream!.exitCode).toBeNull();
    const r = reconcileStore(storeV1(), dir, { mode: 'check' });
    expect(r.status, r.message).toBe('current');
    expect(look(file).tables).toEqual(['_litestream_lock', '_litestream_seq', 'note']);
  });

  it('up migrates it while Litestream runs; the restored replica is at v2 with every row; the sidecars survive', async () => {
    const reg = registryV2();
    const s = reg.stores[0]!;
    expect(reconcileStore(s, dir, { mode: 'check' }).status).toBe('behind');
    const r = reconcileStore(s, dir, { mode: 'up' });
    expect(r, r.message).toMatchObject({ status: 'behind', action: 'migrated', from: 1, to: 2 });
    expect(look(file)).toEqual({ tables: ['_litestream_lock', '_litestream_seq', 'note'], version: 2, rows: ROWS });
    // Every later reconcile leaves them too: check, a no-op up, a host's open and close.
    expect(reconcileStore(s, dir, { mode: 'check' }).status).toBe('current');
    expect(reconcileStore(s, dir, { mode: 'up' }).action).toBe('unchanged');
    const host = await openStores(reg, dir);
    expect(host.db.notes.prepare('SELECT count(*) FROM note WHERE words = 6').pluck().get()).toBe(ROWS);
    host.db.notes.prepare('INSERT INTO note (body, words) VALUES (?, 1)').run('written by the host');
    await host.close();
    expect(look(file).tables).toEqual(['_litestream_lock', '_litestream_seq', 'note']);
    expect(litestream!.exitCode).toBeNull();

    // The replica catches up: restore until the copy holds v2 and the host's row.
    const restored = await until(
      'the replica to reach v2 with every row',
      60_000,
      () => {
        const out = restore();
        if (!out) return undefined;
        const l = look(out);
        return l.version === 2 && l.rows === ROWS + 1 ? out : undefined;
      },
      200,
    );
    const copy = new Database(restored, { readonly: true });
    try {
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(copy.prepare('SELECT count(*) FROM note WHERE words = 6').pluck().get()).toBe(ROWS);
      expect(copy.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND name = 'note_words'").pluck().get()).toBe('note_words');
    } finally {
      copy.close();
    }
    // The restored copy is a store file like any other: current at v2.
    expect(reconcileStore(s, path.dirname(restored), { mode: 'check' }).status).toBe('current');
  }, 150_000);
});
