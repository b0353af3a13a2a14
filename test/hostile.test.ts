/**
 * Hostile files, environments and registries: each gets its status, a message naming the file
 * and the cause, the documented exit code, and its bytes untouched.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertSameFile, openPlainFile, statLight } from '../src/engine/probe.js';
import { reconcileStore } from '../src/engine/reconcile.js';
import { createRegistry } from '../src/api.js';
import type { Registry } from '../src/types.js';
import type { Report } from '../src/report.js';
import { CLI, OBJECTS_ROWS_V1, STORES, cli, fingerprint, query, registry, store, storesFile, tmpDir, unprivilegedCli, userVersion, writeAt, writeSql } from './helpers.js';

let reg: Registry;
beforeAll(async () => {
  reg = await registry();
});

/** Every file below `dir` with its hash (to prove a whole tree untouched). */
function treePrint(dir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const p = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    out[path.relative(dir, p)] = e.isFile() ? fingerprint(p).main : e.isDirectory() ? 'dir' : 'other';
  }
  return out;
}

describe('damaged and foreign files through the CLI', () => {
  const cases: [string, (f: string) => void, string][] = [
    ['random bytes', (f) => fs.writeFileSync(f, Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 13) % 256))), 'corrupt'],
    ['a text file', (f) => fs.writeFileSync(f, 'hello\n'.repeat(100)), 'corrupt'],
    ['a truncated database', (f) => {
      writeAt(store(reg, 'objects'), f, 4);
      fs.truncateSync(f, 3000);
    }, 'corrupt'],
    ['a valid header and schema with a damaged data page', (f) => {
      writeAt(store(reg, 'objects'), f, 3, `WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 2000) INSERT INTO db_client SELECT 'c' || v, 1, hex(randomblob(64)) FROM n;`);
      const buf = fs.readFileSync(f);
      const page = buf.readUInt16BE(16);
      const at = page * Math.floor(buf.length / page / 2);
      buf.fill(0xa5, at + 8, at + page); // keep the page header, damage its cells
      fs.writeFileSync(f, buf);
    }, 'corrupt'],
    ['another program\'s database', (f) => writeSql(f, 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE); INSERT INTO users VALUES (1, \'a@b\');'), 'foreign'],
    ['a negative user_version', (f) => writeSql(f, storesFile('objects/schema.sql'), -1), 'foreign'],
    ['a huge user_version', (f) => writeSql(f, storesFile('objects/schema.sql'), 2_000_000_000), 'too-new'],
    ['a legacy file in conflict', (f) => writeSql(f, storesFile('objects/legacy/forge-memories.sql') + 'CREATE TABLE db_memories (id TEXT PRIMARY KEY);'), 'conflict'],
    ['a file with a trigger the registry does not declare', (f) => {
      writeAt(store(reg, 'objects'), f, 3);
      const db = new Database(f);
      db.exec("CREATE TRIGGER wipe AFTER INSERT ON db_memory_bundles BEGIN DELETE FROM db_client; END;");
      db.close();
    }, 'drift'],
  ];
  for (const [name, make, status] of cases) {
    it(`${name}: ${status}, exit 4 for check and up, bytes untouched`, () => {
      const dir = tmpDir();
      const file = path.join(dir, 'objects.db');
      make(file);
      const before = fingerprint(file);
      for (const cmd of ['check', 'up', 'adopt']) {
        const r = cli([cmd, dir, '--json']);
        expect(r.code, `${cmd}: ${r.stdout}`).toBe(4);
        const s = (JSON.parse(r.stdout) as Report).dirs[0]!.stores.find((x) => x.name === 'objects')!;
        expect(s.status).toBe(status);
        expect(s.message).toContain('objects.db');
        expect(fingerprint(file)).toEqual(before);
      }
    });
  }

  it('a zero-byte file is empty (exit 3 for check), a directory in its place an error (exit 4)', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'objects.db'), '');
    expect(cli(['check', dir]).code).toBe(3);
    const dir2 = tmpDir();
    fs.mkdirSync(path.join(dir2, 'objects.db'));
    const r = cli(['up', dir2, '--json']);
    expect(r.code).toBe(4);
    expect((JSON.parse(r.stdout) as Report).dirs[0]!.stores[1]).toMatchObject({ status: 'error', action: 'refused' });
  });

  it('a named pipe in a store file\'s place is an error that says what it is, and is never opened (no hang)', (ctx) => {
    const dir = tmpDir();
    const fifo = path.join(dir, 'sagas.db');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return ctx.skip('mkfifo is not available');
    for (const command of ['check', 'up']) {
      const r = cli([command, dir, '--json']);
      expect(r.code, r.stderr).toBe(4);
      const sagas = (JSON.parse(r.stdout) as Report).dirs[0]!.stores.find((x) => x.name === 'sagas')!;
      expect(sagas).toMatchObject({ status: 'error' });
      expect(sagas.message).toBe('something other than a file (a socket, a pipe, a device) stands where the file sagas.db should be; move it away, then run up again');
    }
    expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
  });
});

describe('locks', () => {
  it('a store held by another writer past the busy timeout is refused as locked; the others are handled; a later run succeeds', () => {
    const stores = path.join(tmpDir(), 'stores');
    fs.cpSync(STORES, stores, { recursive: true });
    const json = path.join(stores, 'objects/store.json');
    const j = JSON.parse(fs.readFileSync(json, 'utf8'));
    j.connection.busy_timeout = 300;
    fs.writeFileSync(json, JSON.stringify(j));
    const dir = tmpDir();
    const file = path.join(dir, 'objects.db');
    writeAt(store(reg, 'objects'), file, 2);
    const holder = new Database(file);
    holder.exec('BEGIN EXCLUSIVE');
    try {
      const r = cli(['up', dir, '--stores', stores, '--json']);
      expect(r.code).toBe(4);
      const report = JSON.parse(r.stdout) as Report;
      expect(report.dirs[0]!.stores.map((s) => [s.name, s.status, s.action])).toEqual([
        ['filestore', 'missing', 'created'],
        ['objects', 'locked', 'refused'],
        ['sagas', 'missing', 'created'],
      ]);
      expect(report.dirs[0]!.stores[1]!.message).toMatch(/objects\.db is locked by another connection past the busy timeout/);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect(userVersion(file)).toBe(2);
    const again = cli(['up', dir, '--stores', stores, '--json']);
    expect(again.code).toBe(0);
    expect(userVersion(file)).toBe(4);
  });
});

describe('environment faults', () => {
  function runAs(args: string[], cwd: string) {
    const asUser = unprivilegedCli();
    const [cmd, ...rest] = [...asUser.argv, ...args, '--stores', asUser.stores];
    return spawnSync(cmd!, rest, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  }

  /**
   * Runs `body` in a scratch folder under /tmp that the unprivileged user may enter (the test's
   * own tmp dir may sit under a 0700 folder), given back whatever modes the body set.
   */
  function inScratch(ctx: { skip: (why: string) => void }, prefix: string, body: (base: string) => void): void {
    const skip = unprivilegedCli().skip;
    if (skip) return ctx.skip(skip);
    const base = fs.mkdtempSync(`/tmp/${prefix}`);
    try {
      fs.chmodSync(base, 0o755);
      body(base);
    } finally {
      spawnSync('chmod', ['-R', 'u+rwx', base]);
      fs.rmSync(base, { recursive: true, force: true });
    }
  }

  it('a read-only data dir and files: every store refused with the cause, nothing changed, other dirs go on', (ctx) =>
    inScratch(ctx, 'stores-ro-', (base) => {
      const ro = path.join(base, 'ro');
      const rw = path.join(base, 'rw');
      writeAt(store(reg, 'objects'), path.join(ro, 'objects.db'), 2);
      fs.mkdirSync(rw, { mode: 0o777 });
      fs.chmodSync(rw, 0o777);
      fs.chmodSync(ro, 0o555);
      fs.chmodSync(path.join(ro, 'objects.db'), 0o444);
      const before = treePrint(ro);
      const r = runAs(['up', ro, rw, '--json'], base);
      expect(r.status, r.stderr).toBe(4);
      const report = JSON.parse(r.stdout) as Report;
      const roStores = report.dirs.find((d) => d.path === ro)!.stores;
      expect(roStores.map((s) => s.action)).toEqual(['refused', 'refused', 'refused']);
      expect(roStores.find((s) => s.name === 'objects')!.message).toMatch(/readonly|read-only|permission|EACCES/i);
      expect(roStores.find((s) => s.name === 'sagas')!.message).toMatch(/cannot create .*sagas\.db.*(EACCES|permission)/i);
      expect(treePrint(ro)).toEqual(before);
      expect(report.dirs.find((d) => d.path === rw)!.stores.map((s) => s.action)).toEqual(['created', 'created', 'created']);
    }));

  it('a data dir nobody may enter: every store an error with the cause, the other dirs created', (ctx) =>
    inScratch(ctx, 'stores-noentry-', (base) => {
      const shut = path.join(base, 'shut');
      const fresh = path.join(base, 'fresh');
      fs.mkdirSync(shut);
      fs.chmodSync(shut, 0o000);
      fs.mkdirSync(fresh, { mode: 0o777 });
      fs.chmodSync(fresh, 0o777);
      const r = runAs(['up', shut, fresh, '--json'], base);
      expect(r.status, r.stderr).toBe(4);
      const report = JSON.parse(r.stdout) as Report;
      const shutStores = report.dirs.find((d) => d.path === shut)!.stores;
      expect(shutStores.map((s) => s.status)).toEqual(['error', 'error', 'error']);
      for (const s of shutStores) expect(s.message).toMatch(new RegExp(`^${s.file.split('/').pop()!.replace('.', '\\.')} cannot be looked at: .*(EACCES|permission)`, 'i'));
      expect(shutStores.map((s) => s.message).join(' ')).not.toMatch(/failed \(/);
      expect(report.dirs.find((d) => d.path === fresh)!.stores.map((s) => s.action)).toEqual(['created', 'created', 'created']);
    }));

  it('a full disk mid-migration (max_page_count): clean rollback, clear error, nothing changed', () => {
    // A registry whose JS step caps the file's size and then needs more room than that.
    const s = createRegistry([
      {
        name: 'big',
        file: 'big.db',
        version: 2,
        minVersion: 1,
        oldestSchema: 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);',
        schema: 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, w TEXT);',
        migrations: [
          {
            version: 2,
            name: '002-fill.mjs',
            run: (db) => {
              db.exec('ALTER TABLE t ADD COLUMN w TEXT');
              const pages = db.pragma('page_count', { simple: true }) as number;
              db.pragma(`max_page_count = ${pages + 2}`);
              db.exec('UPDATE t SET w = hex(randomblob(2000))');
            },
          },
        ],
      },
    ]).stores[0]!;
    const dir = tmpDir();
    const file = path.join(dir, 'big.db');
    writeSql(file, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 500) INSERT INTO t (v) SELECT 'row' || x FROM n;", 1);
    const before = fingerprint(file);
    const r = reconcileStore(s, dir, { mode: 'up' });
    expect(r.action).toBe('refused');
    expect(r.message).toMatch(/002-fill\.mjs failed: database or disk is full/);
    expect(r.message).toMatch(/rolled back, nothing changed/);
    expect(fingerprint(file)).toEqual(before);
    expect(userVersion(file)).toBe(1);
  });
});

describe('hostile registries touch no data file', () => {
  it('a registry error exits 2 before any data dir is opened or created', () => {
    const stores = path.join(tmpDir(), 'stores');
    fs.cpSync(STORES, stores, { recursive: true });
    fs.appendFileSync(path.join(stores, 'objects/migrations/004-agents-consolidation.sql'), '\nSELEC broken;');
    const dir = tmpDir();
    writeAt(store(reg, 'objects'), path.join(dir, 'objects.db'), 2);
    const fresh = path.join(tmpDir(), 'fresh');
    const before = treePrint(dir);
    const r = cli(['up', dir, fresh, '--stores', stores]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/004-agents-consolidation\.sql/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(treePrint(dir)).toEqual(before);
    expect(fs.existsSync(fresh)).toBe(false);
  });
});

describe('security', () => {
  const weird = ['we"ird', 'sp ace', '[brackets]', 'tâble', "quo'te"];
  it('identifiers with quotes, spaces, brackets and non-ASCII letters are quoted everywhere', () => {
    const q = (n: string) => `"${n.split('"').join('""')}"`;
    const s = createRegistry([
      {
        name: 'odd',
        file: 'odd.db',
        version: 2,
        minVersion: 1,
        oldestSchema: weird.map((n, i) => `CREATE TABLE ${q(`new ${n}`)} (${q(`col ${n}`)} TEXT PRIMARY KEY, ${q(`x${i}`)} INTEGER);`).join('\n'),
        schema: weird.map((n, i) => `CREATE TABLE ${q(`new ${n}`)} (${q(`col ${n}`)} TEXT PRIMARY KEY, ${q(`x${i}`)} INTEGER, ${q(`added ${n}`)} TEXT NOT NULL DEFAULT '');`).join('\n'),
        migrations: [{ version: 2, name: '002-add.sql', sql: weird.map((n) => `ALTER TABLE ${q(`new ${n}`)} ADD COLUMN ${q(`added ${n}`)} TEXT NOT NULL DEFAULT '';`).join('\n') }],
        legacy: {
          renames: weird.map((n) => ({ from: `old ${n}`, to: `new ${n}` })),
          dropIndexes: weird.map((n) => `idx old ${n}`),
          deadTables: weird.map((n) => `dead ${n}`),
        },
      },
    ]).stores[0]!;
    const dir = tmpDir();
    const file = path.join(dir, 'odd.db');
    writeSql(
      file,
      weird
        .map((n, i) => `CREATE TABLE ${q(`old ${n}`)} (${q(`col ${n}`)} TEXT PRIMARY KEY, ${q(`x${i}`)} INTEGER); INSERT INTO ${q(`old ${n}`)} VALUES ('v ${n.replace(/'/g, "''")}', ${i});
           CREATE INDEX ${q(`idx old ${n}`)} ON ${q(`old ${n}`)}(${q(`x${i}`)});
           CREATE TABLE ${q(`dead ${n}`)} (id TEXT); INSERT INTO ${q(`dead ${n}`)} VALUES ('gone');`)
        .join('\n'),
    );
    const r = reconcileStore(s, dir, { mode: 'up' });
    expect(r.action, r.message).toBe('adopted');
    expect(r.backup).not.toBeNull();
    for (const [i, n] of weird.entries()) {
      expect(query(file, `SELECT * FROM ${q(`new ${n}`)}`)).toEqual([{ [`col ${n}`]: `v ${n}`, [`x${i}`]: i, [`added ${n}`]: '' }]);
      expect(query(r.backup!, `SELECT * FROM ${q(`dead ${n}`)}`)).toEqual([{ id: 'gone' }]);
    }
    expect(reconcileStore(s, dir, { mode: 'check' }).status).toBe('current');
  });

  it('extensions cannot be loaded from registry SQL', () => {
    expect(() => createRegistry([{ name: 'x', file: 'x.db', version: 1, schema: "CREATE TABLE t (a); SELECT load_extension('/tmp/nope');" }])).toThrow(/not authorized|no such function/);
  });
});

describe('symbolic links are never followed', () => {
  /** A root whose data dir holds an objects.db that is a symbolic link to a behind file outside the root. */
  function linkedRoot(target: 'file' | 'wal' = 'file') {
    const root = tmpDir();
    const outside = tmpDir();
    const real = path.join(outside, 'objects.db');
    writeAt(store(reg, 'objects'), real, 2, OBJECTS_ROWS_V1);
    const dir = path.join(root, 'd');
    writeAt(store(reg, 'sagas'), path.join(dir, 'sagas.db'), 1);
    if (target === 'file') fs.symlinkSync(real, path.join(dir, 'objects.db'));
    else {
      writeAt(store(reg, 'objects'), path.join(dir, 'objects.db'), 2);
      fs.writeFileSync(path.join(outside, 'elsewhere-wal'), '');
      fs.symlinkSync(path.join(outside, 'elsewhere-wal'), path.join(dir, 'objects.db-wal'));
    }
    return { root, dir, real, outside };
  }

  it('a store file that is a symbolic link out of the root: error for check and up, the target untouched', () => {
    const { root, real, outside } = linkedRoot();
    const before = treePrint(outside);
    const c = cli(['check', '--root', root, '--json']);
    expect(c.code).toBe(4);
    const checked = (JSON.parse(c.stdout) as Report).dirs[0]!.stores.find((s) => s.name === 'objects')!;
    expect(checked.status).toBe('error');
    expect(checked.message).toContain(`objects.db is a symbolic link to ${real}`);
    expect(checked.message).toMatch(/never follows symbolic links.*replace the link with the file itself or move it away/);
    for (const concurrency of ['1', '2']) {
      const r = cli(['up', '--root', root, '--json', '--concurrency', concurrency]);
      expect(r.code).toBe(4);
      const objects = (JSON.parse(r.stdout) as Report).dirs[0]!.stores.find((s) => s.name === 'objects')!;
      expect(objects).toMatchObject({ status: 'error', action: 'refused' });
      expect(objects.message).toContain('is a symbolic link to');
    }
    expect(treePrint(outside)).toEqual(before);
    expect(userVersion(real)).toBe(2);
  });

  it('a dangling link is an error too, never a missing file to create through it', () => {
    const root = tmpDir();
    const outside = tmpDir();
    const dir = path.join(root, 'd');
    writeAt(store(reg, 'sagas'), path.join(dir, 'sagas.db'), 1);
    fs.symlinkSync(path.join(outside, 'not-yet.db'), path.join(dir, 'objects.db'));
    const r = cli(['up', '--root', root, '--json']);
    expect(r.code).toBe(4);
    expect((JSON.parse(r.stdout) as Report).dirs[0]!.stores.find((s) => s.name === 'objects')).toMatchObject({ status: 'error', action: 'refused' });
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it('a file replaced by a link between the lstat and the open is caught right after the open', () => {
    const dir = tmpDir();
    const outside = tmpDir();
    const file = path.join(dir, 'objects.db');
    writeAt(store(reg, 'objects'), file, 2);
    writeAt(store(reg, 'objects'), path.join(outside, 'objects.db'), 2);
    const stat = statLight(file); // what the look saw
    fs.rmSync(file);
    fs.symlinkSync(path.join(outside, 'objects.db'), file);
    expect(() => assertSameFile(stat)).toThrow(/became a symbolic link to .*while it was being opened/);
    expect(() => openPlainFile(file, {})).toThrow(/is a symbolic link to/);
  });

  it('a companion (-wal) that is a symbolic link: the store is refused, nothing written through it', () => {
    const { dir, outside } = linkedRoot('wal');
    const before = treePrint(outside);
    const file = path.join(dir, 'objects.db');
    const main = fingerprint(file).main;
    const r = reconcileStore(store(reg, 'objects'), dir, { mode: 'up' });
    expect(r).toMatchObject({ status: 'error', action: 'refused' });
    expect(r.message).toContain('objects.db-wal is a symbolic link to');
    expect(treePrint(outside)).toEqual(before);
    expect(fingerprint(file).main).toBe(main);
  });
});
