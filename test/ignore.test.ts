/**
 * Objects owned by others (`ignore`, and the sidecar tables ignored without configuration): never
 * compared, created, dropped or rebuilt; `diff` lists them; a trigger of theirs on our table is
 * drift with the reason; an index of theirs on our table survives a rebuild, or the rebuild
 * refuses with the reason. Real files in temporary directories.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../src/api.js';
import { RegistryError } from '../src/errors.js';
import { reconcileStore } from '../src/engine/reconcile.js';
import type { Store, StoreDefinition } from '../src/types.js';
import { partition, patternMatcher } from '../src/schema/exclude.js';
import { cli, fingerprint, query, tmpDir, userVersion, writeSql } from './helpers.js';

const V1 = 'CREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT NOT NULL);';
// v2 rebuilds jobs (a CHECK that ALTER TABLE cannot add).
const M2 = "-- stores:rebuild jobs\nCREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT NOT NULL CHECK (name <> ''));";
const V2 = "CREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT NOT NULL CHECK (name <> ''));";

function app(def: Partial<StoreDefinition> = {}): Store {
  return createRegistry([{ name: 'app', file: 'app.db', version: 2, minVersion: 1, schema: V2, oldestSchema: V1, migrations: [{ version: 2, name: '002-jobs-check.sql', sql: M2 }], ...def }]).stores[0]!;
}

const HOST_CACHE = `CREATE TABLE app_cache (k TEXT PRIMARY KEY, v BLOB);
CREATE INDEX app_cache_v ON app_cache(v);
CREATE TRIGGER app_cache_touch AFTER INSERT ON app_cache BEGIN SELECT 1; END;
INSERT INTO app_cache VALUES ('a', x'01'), ('b', x'02');`;
const LITESTREAM = 'CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER);\nCREATE TABLE _litestream_lock (id INTEGER);\nINSERT INTO _litestream_seq VALUES (1, 7);';
const D1 = 'CREATE TABLE _cf_METADATA (key INTEGER PRIMARY KEY, value BLOB);';

function fileAt(dir: string, v: 1 | 2, extra = ''): string {
  const file = path.join(dir, 'app.db');
  writeSql(file, `${v === 1 ? V1 : V2}\nINSERT INTO jobs VALUES (1, 'backup'), (2, 'index');\n${extra}`, v);
  return file;
}

const check = (s: Store, dir: string) => reconcileStore(s, dir, { mode: 'check' });
const up = (s: Store, dir: string) => reconcileStore(s, dir, { mode: 'up' });

describe('ignore: objects another program owns', () => {
  it("a host's app_cache table (with its index and trigger) is ignored: current, and migrating leaves it and its rows alone", async () => {
    const s = app({ ignore: ['app_cache'] });
    const current = tmpDir();
    fileAt(current, 2, HOST_CACHE);
    expect(check(s, current).status).toBe('current');
    const dir = tmpDir();
    const file = fileAt(dir, 1, HOST_CACHE);
    const r = up(s, dir);
    expect(r.action).toBe('migrated');
    expect(userVersion(file)).toBe(2);
    expect(query(file, 'SELECT k FROM app_cache ORDER BY k')).toEqual([{ k: 'a' }, { k: 'b' }]);
    expect(query(file, "SELECT name FROM sqlite_schema WHERE tbl_name = 'app_cache' AND name NOT LIKE 'sqlite%' ORDER BY name")).toEqual([{ name: 'app_cache' }, { name: 'app_cache_touch' }, { name: 'app_cache_v' }]);
    expect(check(s, dir).status).toBe('current');
  });

  it('without the pattern, the same table is drift, and the message suggests an ignore pattern', async () => {
    const s = app();
    const dir = tmpDir();
    const file = fileAt(dir, 2, HOST_CACHE);
    const before = fingerprint(file);
    const r = up(s, dir);
    expect(r.status).toBe('drift');
    expect(r.message).toContain('unexpected table app_cache');
    expect(r.message).toContain('add an `ignore` pattern');
    expect(r.message).toContain('"ignore": ["app_cache"]');
    expect(fingerprint(file)).toEqual(before);
  });

  it("Litestream's and D1's tables are ignored without configuration", async () => {
    const s = app();
    const dir = tmpDir();
    const file = fileAt(dir, 1, `${LITESTREAM}\n${D1}`);
    expect(check(s, dir).status).toBe('behind');
    expect(up(s, dir).action).toBe('migrated');
    expect(check(s, dir).status).toBe('current');
    expect(query(file, 'SELECT seq FROM _litestream_seq')).toEqual([{ seq: 7 }]);
    expect(query(file, "SELECT count(*) AS n FROM sqlite_schema WHERE name IN ('_litestream_lock', '_cf_METADATA')")).toEqual([{ n: 2 }]);
  });

  it('a file holding only sidecar tables is empty: up initializes it and keeps them', async () => {
    const s = app();
    const dir = tmpDir();
    const file = path.join(dir, 'app.db');
    writeSql(file, LITESTREAM);
    expect(check(s, dir).status).toBe('empty');
    expect(up(s, dir).action).toBe('initialized');
    expect(query(file, 'SELECT seq FROM _litestream_seq')).toEqual([{ seq: 7 }]);
    expect(check(s, dir).status).toBe('current');
  });

  it('a trigger of another program on one of our tables cannot be ignored: drift with that reason, bytes unchanged', async () => {
    const s = app({ ignore: ['app_*'] });
    const dir = tmpDir();
    const file = fileAt(dir, 2, `${HOST_CACHE}\nCREATE TRIGGER app_audit AFTER INSERT ON jobs BEGIN INSERT INTO app_cache VALUES (new.name, NULL); END;`);
    const before = fingerprint(file);
    const r = up(s, dir);
    expect(r.status).toBe('drift');
    expect(r.message).toContain('trigger app_audit on jobs');
    expect(r.message).toContain('cannot be ignored');
    expect(r.message).toContain('SQLite cannot pause triggers');
    expect(fingerprint(file)).toEqual(before);
  });

  it('an index of theirs on our table survives a `-- stores:rebuild` of that table', async () => {
    const s = app({ ignore: ['app_*'] });
    const dir = tmpDir();
    const file = fileAt(dir, 1, 'CREATE INDEX app_jobs_name ON jobs(name);');
    expect(check(s, dir).status).toBe('behind');
    const r = up(s, dir);
    expect(r.action).toBe('migrated');
    expect(query(file, "SELECT sql FROM sqlite_schema WHERE name = 'app_jobs_name'")).toEqual([{ sql: 'CREATE INDEX app_jobs_name ON jobs(name)' }]);
    expect(query(file, "SELECT sql FROM sqlite_schema WHERE name = 'jobs'")[0]).toMatchObject({ sql: expect.stringContaining('CHECK') });
    expect(check(s, dir).status).toBe('current');
  });

  it('a rebuild that their index no longer fits refuses with the reason, bytes unchanged', async () => {
    const s = app({
      ignore: ['app_*'],
      schema: 'CREATE TABLE jobs (id INTEGER PRIMARY KEY, title TEXT);',
      migrations: [{ version: 2, name: '002-drop-name.sql', sql: '-- stores:destructive the name is replaced by a title\n-- stores:rebuild jobs\nCREATE TABLE jobs (id INTEGER PRIMARY KEY, title TEXT);' }],
    });
    const dir = tmpDir();
    const file = fileAt(dir, 1, 'CREATE INDEX app_jobs_name ON jobs(name);');
    const before = fingerprint(file);
    const r = up(s, dir);
    expect(r.action).toBe('refused');
    expect(r.message).toContain('cannot recreate index app_jobs_name');
    expect(r.message).toContain('another program');
    expect(fingerprint(file)).toEqual(before);
  });

  it('an extra column says to write a migration; an extra index on our table says a migration or an ignore pattern', async () => {
    const s = app();
    const col = tmpDir();
    fileAt(col, 2, 'ALTER TABLE jobs ADD COLUMN note TEXT;');
    const r = check(s, col);
    expect(r.status).toBe('drift');
    expect(r.message).toContain('column jobs.note: write a migration');
    const ix = tmpDir();
    fileAt(ix, 2, 'CREATE INDEX jobs_by_name ON jobs(name);');
    const m = check(s, ix).message;
    expect(m).toContain('index jobs_by_name on jobs: write a migration that creates it');
    expect(m).toContain('`ignore`');
  });

  it('refuses an ignore pattern that matches one of the store\'s own objects, and a bare *', () => {
    const problems = (ignore: string[]) => {
      try {
        app({ ignore });
        return '';
      } catch (err) {
        if (!(err instanceof RegistryError)) throw err;
        return err.problems.map((p) => p.message).join('\n');
      }
    };
    expect(problems(['job*'])).toContain('ignore pattern "job*" matches table jobs');
    expect(problems(['*'])).toContain('must name something');
    expect(problems(['app_*'])).toBe('');
  });
});

describe('ignore: patterns', () => {
  it('match whole names, * for any run, ASCII case ignored, everything else literal', () => {
    const m = patternMatcher('app_*');
    expect(['app_cache', 'APP_Cache', 'app_']).toEqual(['app_cache', 'APP_Cache', 'app_'].filter(m));
    expect(['xapp_cache', 'appXcache', 'app']).toEqual(['xapp_cache', 'appXcache', 'app'].filter((n) => !m(n)));
    expect(patternMatcher('a.b')('axb')).toBe(false);
    expect(patternMatcher('*_cache_*')('host_cache_v2')).toBe(true);
  });

  it('partition: a matching table goes with its indexes and triggers; a matching trigger on our table stays, reported', () => {
    const rows = [
      { type: 'table', name: 'jobs', tbl_name: 'jobs', sql: V1 },
      { type: 'table', name: 'app_cache', tbl_name: 'app_cache', sql: 'CREATE TABLE app_cache (k)' },
      { type: 'index', name: 'cache_k', tbl_name: 'app_cache', sql: 'CREATE INDEX cache_k ON app_cache(k)' },
      { type: 'index', name: 'app_jobs', tbl_name: 'jobs', sql: 'CREATE INDEX app_jobs ON jobs(name)' },
      { type: 'trigger', name: 'app_t', tbl_name: 'jobs', sql: 'CREATE TRIGGER app_t AFTER INSERT ON jobs BEGIN SELECT 1; END' },
      { type: 'view', name: 'app_v', tbl_name: 'app_v', sql: 'CREATE VIEW app_v AS SELECT 1' },
    ];
    const p = partition(rows, { patterns: [{ pattern: 'app_*', owner: 'ignore' }], bookkeeping: [] });
    expect(p.kept.map((r) => r.name)).toEqual(['jobs', 'app_t']);
    expect(p.left.map((l) => l.name)).toEqual(['app_cache', 'cache_k', 'app_jobs', 'app_v']);
    expect(p.unignorable).toEqual([{ name: 'app_t', table: 'jobs', pattern: 'ignore pattern "app_*"' }]);
  });
});

describe('ignore: a store may not own what is always ignored', () => {
  it("a store declaring Litestream's or D1's table names is a registry error, before any file is opened", () => {
    for (const name of ['_litestream_seq', '_cf_METADATA']) {
      const make = () => createRegistry([{ name: 'side', file: 'side.db', version: 1, schema: `CREATE TABLE ${name} (id INTEGER PRIMARY KEY); CREATE TABLE jobs (id INTEGER PRIMARY KEY)` }]);
      expect(make).toThrow(RegistryError);
      expect(make).toThrow(new RegExp(`${name}.*always ignored`));
    }
  });
});

describe('ignore: virtual tables', () => {
  it("an ignored FTS5 table's shadow tables are ignored with it; a table of ours that shares the prefix is not", async () => {
    const s = createRegistry([{ name: 'app', file: 'app.db', version: 1, schema: 'CREATE TABLE jobs (id INTEGER PRIMARY KEY);\nCREATE TABLE search_log (id INTEGER PRIMARY KEY);', ignore: ['search'] }]).stores[0]!;
    const dir = tmpDir();
    const file = path.join(dir, 'app.db');
    writeSql(file, "CREATE TABLE jobs (id INTEGER PRIMARY KEY);\nCREATE TABLE search_log (id INTEGER PRIMARY KEY);\nCREATE VIRTUAL TABLE search USING fts5(body);\nINSERT INTO search VALUES ('hello');", 1);
    expect(check(s, dir).status).toBe('current');
    writeSql(file, 'DROP TABLE search_log;', 1);
    const r = check(s, dir);
    expect(r.status).toBe('drift');
    expect(r.message).toContain('missing table search_log');
  });
});

describe('ignore: stores diff lists what it left out', () => {
  it('diff --json and the human output list the ignored objects', () => {
    const root = path.join(tmpDir('stores-ignore-'), 'stores');
    const dir = path.join(root, 'app');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'store.json'), JSON.stringify({ file: 'app.db', version: 1, ignore: ['app_*'] }));
    fs.writeFileSync(path.join(dir, 'schema.sql'), V2);
    const data = tmpDir();
    const file = fileAt(data, 2, `${HOST_CACHE}\n${LITESTREAM}`);
    writeSql(file, '', 1);
    const json = cli(['diff', file, '--stores', root, '--json']);
    expect(json.code).toBe(0);
    const d = JSON.parse(json.stdout).files[0];
    expect(d.changes).toEqual([]);
    expect(d.ignored).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'table', name: 'app_cache', kind: 'ignored' }),
        expect.objectContaining({ type: 'index', name: 'app_cache_v', table: 'app_cache' }),
        expect.objectContaining({ type: 'trigger', name: 'app_cache_touch' }),
        expect.objectContaining({ type: 'table', name: '_litestream_seq', owner: 'Litestream (always ignored)' }),
      ]),
    );
    const human = cli(['diff', file, '--stores', root]);
    expect(human.stdout).toContain('= ignored table app_cache (ignore pattern "app_*")');
    expect(human.stdout).toContain('= ignored table _litestream_lock (Litestream (always ignored))');
  });
});
