/**
 * Virtual tables (issue 13 item 4): a baseline may declare FTS5 and R*Tree tables. Their shadow
 * tables (`doc_fts_data`, `place_node`, …) are the module's: never drift, never foreign. A
 * migration adds one (created, then filled from the content table), or rebuilds one (dropped and
 * created with other columns or another tokenizer, then rebuilt from its content table: the drop
 * is a drop, so the step declares it and a backup is taken), `verify` proves the registry, and
 * rows survive. On real files; better-sqlite3 bundles FTS5 and R*Tree.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../src/api.js';
import { reconcileStore } from '../src/engine/reconcile.js';
import { diffFile } from '../src/engine/explain.js';
import type { StoreDefinition } from '../src/types.js';
import { verifyRegistry } from '../src/verify.js';
import { fingerprint, tmpDir, writeSql } from './helpers.js';

const DOC = 'CREATE TABLE doc (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL);';
/** v1: the content table only. */
const V1 = DOC;
/** v2: an external-content FTS5 index over doc's titles, kept by a trigger, and an R*Tree of places (its own rows). */
const FTS2 = "CREATE VIRTUAL TABLE doc_fts USING fts5(title, content='doc', content_rowid='id');";
const TRIGGER2 = 'CREATE TRIGGER doc_ai AFTER INSERT ON doc BEGIN INSERT INTO doc_fts(rowid, title) VALUES (new.id, new.title); END;';
const RTREE = 'CREATE VIRTUAL TABLE place USING rtree(id, minx, maxx, miny, maxy);';
const V2 = [DOC, FTS2, TRIGGER2, RTREE].join('\n');
const M2 = `${FTS2}
INSERT INTO doc_fts(doc_fts) VALUES ('rebuild');
${TRIGGER2}
${RTREE}
INSERT INTO place SELECT id, id, id + 1, 0, 1 FROM doc;`;
/** v3: the index rebuilt over titles and bodies, with the porter stemmer. */
const FTS3 = "CREATE VIRTUAL TABLE doc_fts USING fts5(title, body, content='doc', content_rowid='id', tokenize='porter');";
const TRIGGER3 = 'CREATE TRIGGER doc_ai AFTER INSERT ON doc BEGIN INSERT INTO doc_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END;';
const V3 = [DOC, FTS3, TRIGGER3, RTREE].join('\n');
const REBUILD = `DROP TRIGGER doc_ai;
DROP TABLE doc_fts;
${FTS3}
INSERT INTO doc_fts(doc_fts) VALUES ('rebuild');
${TRIGGER3}`;
const M3 = `-- stores:destructive the search index is rebuilt from doc, which keeps every row\n${REBUILD}`;

const ROWS = "INSERT INTO doc VALUES (1, 'hello world', 'running fast'), (2, 'other things', 'ran slowly'), (3, 'third', 'walking home');";

function docs(version: 1 | 2 | 3, m3 = M3): StoreDefinition {
  const migrations = [
    { version: 2, name: '002-search-and-places.sql', sql: M2 },
    { version: 3, name: '003-search-bodies.sql', sql: m3 },
  ].filter((m) => m.version <= version);
  return { name: 'docs', file: 'docs.db', version, minVersion: 1, schema: [V1, V2, V3][version - 1]!, ...(version > 1 ? { oldestSchema: V1 } : {}), migrations };
}
const storeOf = (def: StoreDefinition) => createRegistry([def]).stores[0]!;

function tables(file: string): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all() as string[];
  } finally {
    db.close();
  }
}

function read<T>(file: string, sql: string): T[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

describe('a baseline with FTS5 and R*Tree tables', () => {
  it('up creates them, with their shadow tables, and the file is current (its shadow tables neither drift nor foreign)', () => {
    const dir = tmpDir();
    const s = storeOf(docs(3));
    expect(reconcileStore(s, dir, { mode: 'up' }).action).toBe('created');
    const file = path.join(dir, 'docs.db');
    expect(tables(file)).toEqual(expect.arrayContaining(['doc_fts', 'doc_fts_config', 'doc_fts_data', 'doc_fts_docsize', 'doc_fts_idx', 'place', 'place_node', 'place_parent', 'place_rowid']));
    expect(reconcileStore(s, dir, { mode: 'check' }).status).toBe('current');
    expect(diffFile(s, file).changes).toEqual([]);
    // The trigger keeps the index: a row written by a host is found.
    const db = new Database(file);
    db.exec("INSERT INTO doc VALUES (7, 'searching stemmed words', 'x'); INSERT INTO place VALUES (1, 0, 1, 0, 1);");
    db.close();
    expect(read(file, "SELECT rowid FROM doc_fts WHERE doc_fts MATCH 'search'")).toEqual([{ rowid: 7 }]);
    expect(reconcileStore(s, dir, { mode: 'check' }).status).toBe('current');
  });

  it('a file whose index has other columns than the baseline says is drift, named', () => {
    const dir = tmpDir();
    writeSql(path.join(dir, 'docs.db'), V2, 3); // v2's index at version 3
    const r = reconcileStore(storeOf(docs(3)), dir, { mode: 'check' });
    expect(r.status).toBe('drift');
    expect(r.message).toMatch(/changed virtual of table doc_fts: expected fts5\(title , body .*tokenize = 'porter'\), found fts5\(title , content/);
    expect(r.message).not.toMatch(/_data|_idx|_docsize|_config|place_node/); // the shadow tables are not reported
  });

  it('a legacy file (user_version 0) holding the virtual tables is legacy, never foreign, and adopts', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'docs.db');
    writeSql(file, `${V2}\n${ROWS}`, 0);
    const s = storeOf({ ...docs(2), minVersion: 2, oldestSchema: undefined, migrations: [] });
    const c = reconcileStore(s, dir, { mode: 'check' });
    expect(c.status, c.message).toBe('legacy');
    expect(reconcileStore(s, dir, { mode: 'up' }).action).toBe('adopted');
    expect(reconcileStore(s, dir, { mode: 'check' }).status).toBe('current');
    expect(read(file, "SELECT rowid FROM doc_fts WHERE doc_fts MATCH 'hello'")).toEqual([{ rowid: 1 }]);
  });
});

describe('migrations that add and rebuild virtual tables', () => {
  it('a migration adds an FTS5 index and an R*Tree, filled from the rows; every row survives', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'docs.db');
    writeSql(file, `${V1}\n${ROWS}`, 1);
    const r = reconcileStore(storeOf(docs(2)), dir, { mode: 'up' });
    expect(r, r.message).toMatchObject({ status: 'behind', action: 'migrated', from: 1, to: 2, backup: null });
    expect(read(file, 'SELECT count(*) AS n FROM doc')).toEqual([{ n: 3 }]);
    expect(read(file, "SELECT rowid FROM doc_fts WHERE doc_fts MATCH 'other'")).toEqual([{ rowid: 2 }]);
    expect(read(file, 'SELECT id FROM place WHERE minx >= 2 ORDER BY id')).toEqual([{ id: 2 }, { id: 3 }]);
    expect(reconcileStore(storeOf(docs(2)), dir, { mode: 'check' }).status).toBe('current');
  });

  it('rebuilding the index (other columns, another tokenizer) is a declared drop: backed up, rebuilt from doc, every row kept', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'docs.db');
    writeSql(file, `${V1}\n${ROWS}`, 1);
    reconcileStore(storeOf(docs(2)), dir, { mode: 'up' });
    const r = reconcileStore(storeOf(docs(3)), dir, { mode: 'up' });
    expect(r, r.message).toMatchObject({ status: 'behind', action: 'migrated', from: 2, to: 3 });
    expect(r.backup).toMatch(/docs\.db\.backup-/);
    expect(fs.existsSync(r.backup!)).toBe(true);
    expect(read(file, 'SELECT id, title, body FROM doc ORDER BY id')).toHaveLength(3);
    // The new index covers bodies and stems: 'run' finds "running", 'walk' finds "walking".
    expect(read(file, "SELECT rowid FROM doc_fts WHERE doc_fts MATCH 'run' ORDER BY rowid")).toEqual([{ rowid: 1 }]);
    expect(read(file, "SELECT rowid FROM doc_fts WHERE doc_fts MATCH 'body: walk'")).toEqual([{ rowid: 3 }]);
    // The R*Tree's own rows were not touched.
    expect(read(file, 'SELECT count(*) AS n FROM place')).toEqual([{ n: 3 }]);
    expect(reconcileStore(storeOf(docs(3)), dir, { mode: 'check' }).status).toBe('current');
  });

  it('the same rebuild without the declaration is refused, the file unchanged', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'docs.db');
    writeSql(file, `${V1}\n${ROWS}`, 1);
    reconcileStore(storeOf(docs(2)), dir, { mode: 'up' });
    const before = fingerprint(file);
    const r = reconcileStore(storeOf(docs(3, REBUILD)), dir, { mode: 'up' });
    expect(r.action).toBe('refused');
    expect(r.message).toMatch(/drops table doc_fts without declaring it/);
    expect(fingerprint(file)).toEqual(before);
  });
});

describe('virtual tables holding rows of their own', () => {
  const OWN1 = 'CREATE VIRTUAL TABLE note_fts USING fts5(title, body); CREATE VIRTUAL TABLE area USING rtree(id, minx, maxx);';
  const OWN2 = "CREATE VIRTUAL TABLE note_fts USING fts5(title, body, tokenize='porter'); CREATE VIRTUAL TABLE area USING rtree(id, minx, maxx, miny, maxy);";
  const COPY = `CREATE VIRTUAL TABLE note_fts_new USING fts5(title, body, tokenize='porter');
INSERT INTO note_fts_new (rowid, title, body) SELECT rowid, title, body FROM note_fts;
DROP TABLE note_fts;
ALTER TABLE note_fts_new RENAME TO note_fts;
CREATE VIRTUAL TABLE area_new USING rtree(id, minx, maxx, miny, maxy);
INSERT INTO area_new SELECT id, minx, maxx, 0, 0 FROM area;
DROP TABLE area;
ALTER TABLE area_new RENAME TO area;`;
  const own = (sql: string): StoreDefinition => ({ name: 'notes', file: 'notes.db', version: 2, minVersion: 1, schema: OWN2, oldestSchema: OWN1, migrations: [{ version: 2, name: '002-stemmed.sql', sql }] });

  it('are rebuilt by copying into a new one and renaming it into place: declared, backed up, every row kept', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'notes.db');
    writeSql(file, `${OWN1} INSERT INTO note_fts (rowid, title, body) VALUES (1, 'a', 'running'), (2, 'b', 'walks'); INSERT INTO area VALUES (1, 0, 1), (2, 3, 4);`, 1);
    const before = fingerprint(file);
    const refused = reconcileStore(storeOf(own(COPY)), dir, { mode: 'up' });
    expect(refused.action).toBe('refused');
    expect(refused.message).toMatch(/drops table note_fts, drops table area without declaring it/);
    expect(fingerprint(file)).toEqual(before);

    const r = reconcileStore(storeOf(own(`-- stores:destructive the tables are copied into their new definitions\n${COPY}`)), dir, { mode: 'up' });
    expect(r, r.message).toMatchObject({ action: 'migrated', from: 1, to: 2 });
    expect(r.backup).toMatch(/notes\.db\.backup-/);
    expect(read(file, "SELECT rowid, title FROM note_fts WHERE note_fts MATCH 'run'")).toEqual([{ rowid: 1, title: 'a' }]);
    expect(read(file, 'SELECT * FROM area ORDER BY id')).toEqual([{ id: 1, minx: 0, maxx: 1, miny: 0, maxy: 0 }, { id: 2, minx: 3, maxx: 4, miny: 0, maxy: 0 }]);
    expect(reconcileStore(storeOf(own(COPY)), dir, { mode: 'check' }).status).toBe('current');
  });
});

describe('verify', () => {
  it('proves a registry with virtual tables: fresh file, every version with rows, migrated to the baseline', () => {
    const result = verifyRegistry(createRegistry([docs(3)]));
    expect(result.ok, JSON.stringify(result, null, 1)).toBe(true);
    expect(result.stores[0]!.checks.map((c) => c.name)).toEqual(expect.arrayContaining([expect.stringMatching(/v1 with rows migrates/), expect.stringMatching(/v2 with rows migrates/)]));
  });

  it('fails a registry whose migration builds another index than the baseline declares', () => {
    const wrong = M3.replace(FTS3, "CREATE VIRTUAL TABLE doc_fts USING fts5(title, body, content='doc', content_rowid='id');");
    let failed: string;
    try {
      const result = verifyRegistry(createRegistry([docs(3, wrong)]));
      failed = result.ok ? '' : JSON.stringify(result);
    } catch (err) {
      failed = (err as Error).message; // or refused when the registry is built
    }
    expect(failed).toMatch(/changed virtual of table doc_fts/);
  });
});
