/**
 * `stores generate`: a corpus of before/after schemas with rows. Each written migration is
 * proven by `verify` (generate runs it) and then run by `up` on a real file at the old version
 * holding the case's rows: every row must be kept (values compared, renames followed), the file
 * must end current, and a second `generate` must find nothing to do. The cases peers get wrong
 * name the issue thread that reports it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRegistry } from '../src/api.js';
import { RegistryError } from '../src/errors.js';
import { reconcileStore } from '../src/engine/reconcile.js';
import { renameAnnotations } from '../src/engine/annotations.js';
import { bumpStoreJson, generateMigration, type GenerateOptions, type GenerateResult } from '../src/generate.js';
import { cli, query, tmpDir, userVersion, writeSql } from './helpers.js';

interface Case {
  /** The schema at version 1 (frozen as versions/001.sql). */
  readonly before: string;
  /** Rows at version 1. */
  readonly rows: string;
  /** The edited schema.sql. */
  readonly after: string;
  readonly options?: GenerateOptions;
  /** Old table → new table, and old column → new column per old table, for the row comparison. */
  readonly renames?: { readonly tables?: Record<string, string>; readonly columns?: Record<string, Record<string, string>> };
}

/** A registry folder holding one store `app` at version 1, its v1 schema frozen, schema.sql edited. */
function registryOf(c: Pick<Case, 'before' | 'after'>, storeJson = '{\n  "file": "app.db",\n  "version": 1\n}\n'): string {
  const reg = path.join(tmpDir('stores-generate-'), 'stores');
  const dir = path.join(reg, 'app');
  fs.mkdirSync(path.join(dir, 'versions'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'store.json'), storeJson);
  fs.writeFileSync(path.join(dir, 'versions', '001.sql'), c.before);
  fs.writeFileSync(path.join(dir, 'schema.sql'), c.after);
  return reg;
}

type Rows = Record<string, Record<string, unknown>[]>;

function tablesOf(file: string): string[] {
  return query<{ name: string }>(file, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").map((r) => r.name);
}

function rowsOf(file: string): Rows {
  return Object.fromEntries(tablesOf(file).map((t) => [t, query(file, `SELECT * FROM "${t}"`)]));
}

const sorted = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify(r)).sort();

/** Every row of `before` is in `after`, on the columns it still has (renames followed). */
function expectRowsKept(before: Rows, after: Rows, c: Case): void {
  for (const [t, rows] of Object.entries(before)) {
    const to = c.renames?.tables?.[t] ?? t;
    const now = after[to];
    if (!now) continue; // a table dropped on purpose (the case says so with --destructive)
    const ren = c.renames?.columns?.[t] ?? {};
    const cols = Object.keys(rows[0] ?? {}).filter((k) => (ren[k] ?? k) in (now[0] ?? {}));
    const project = (r: Record<string, unknown>, map: (k: string) => string) => Object.fromEntries(cols.map((k) => [k, r[map(k)]]));
    expect(sorted(now.map((r) => project(r, (k) => ren[k] ?? k))), `rows of ${t}`).toEqual(sorted(rows.map((r) => project(r, (k) => k))));
    expect(now.length, `row count of ${t}`).toBe(rows.length);
  }
}

/** Generates, then runs the migration with `up` on a real v1 file holding the rows. */
async function generated(c: Case): Promise<{ reg: string; result: GenerateResult; file: string; before: Rows; after: Rows }> {
  const reg = registryOf(c);
  const result = await generateMigration(reg, 'app', c.options);
  expect(result.refusals, JSON.stringify(result.refusals)).toEqual([]);
  expect(result.action).toBe('written');
  expect(result.verify!.every((x) => x.ok)).toBe(true);
  const dataDir = tmpDir();
  const file = path.join(dataDir, 'app.db');
  writeSql(file, c.before + c.rows, 1);
  const before = rowsOf(file);
  const store = (await loadRegistry(reg)).stores[0]!;
  expect(store.version).toBe(2);
  const r = reconcileStore(store, dataDir, { mode: 'up', backup: false });
  expect(r.action, r.message).toBe('migrated');
  expect(userVersion(file)).toBe(2);
  expect(query(file, 'SELECT * FROM pragma_foreign_key_check')).toEqual([]);
  expect(reconcileStore(store, dataDir, { mode: 'check' }).status).toBe('current');
  const after = rowsOf(file);
  expectRowsKept(before, after, c);
  // Running it again with nothing changed writes nothing.
  const again = await generateMigration(reg, 'app', c.options);
  expect(again.action).toBe('unchanged');
  expect(fs.readdirSync(path.join(reg, 'app', 'migrations'))).toHaveLength(1);
  return { reg, result, file, before, after };
}

async function refused(c: Pick<Case, 'before' | 'after' | 'options'>): Promise<GenerateResult> {
  const reg = registryOf(c);
  const storeJson = fs.readFileSync(path.join(reg, 'app', 'store.json'), 'utf8');
  const result = await generateMigration(reg, 'app', c.options);
  expect(result.action).toBe('refused');
  expect(fs.existsSync(path.join(reg, 'app', 'migrations'))).toBe(false);
  expect(fs.readFileSync(path.join(reg, 'app', 'store.json'), 'utf8')).toBe(storeJson);
  for (const r of result.refusals) expect(r.instead.length).toBeGreaterThan(0);
  return result;
}

const why = (r: GenerateResult) => r.refusals.map((x) => `${x.what}: ${x.why} — ${x.instead}`).join('\n');

describe('generate: columns', () => {
  it('adds a nullable column with a plain ALTER TABLE … ADD COLUMN', async () => {
    const { result } = await generated({
      before: 'CREATE TABLE job (id TEXT PRIMARY KEY, title TEXT NOT NULL);',
      rows: "INSERT INTO job VALUES ('j1', 'one'), ('j2', 'two');",
      after: 'CREATE TABLE job (id TEXT PRIMARY KEY, title TEXT NOT NULL, note TEXT);',
    });
    expect(result.sql).toMatch(/ALTER TABLE "job" ADD COLUMN note TEXT;/);
    expect(result.sql).not.toMatch(/stores:rebuild|stores:destructive/);
    expect(result.file).toMatch(/002-job-add-note\.sql$/);
  });

  it('ADD COLUMN … NOT NULL with a constant default works on a table with rows (sequelize/sequelize#4972)', async () => {
    const { after } = await generated({
      before: 'CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT);',
      rows: "INSERT INTO posts (title) VALUES ('a'), ('b'), (NULL);",
      after: "CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT, subtitle TEXT NOT NULL DEFAULT '');",
    });
    expect(after.posts!.map((r) => r.subtitle)).toEqual(['', '', '']);
  });

  it('refuses NOT NULL without a default on an existing table, saying what to write (sequelize/sequelize#4972, "Cannot add a NOT NULL column with default value NULL")', async () => {
    const r = await refused({ before: 'CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT);', after: 'CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT, slug TEXT NOT NULL);' });
    expect(why(r)).toMatch(/NOT NULL without a constant default/);
    expect(why(r)).toMatch(/DEFAULT ''/);
  });

  it('a non-constant default (CURRENT_TIMESTAMP): SQLite refuses the ALTER on a table with rows, so a rebuild fills every row; NOT NULL with it is refused', async () => {
    const before = 'CREATE TABLE ev (id INTEGER PRIMARY KEY, kind TEXT NOT NULL);';
    expect(why(await refused({ before, after: 'CREATE TABLE ev (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);' }))).toMatch(/NOT NULL without a constant default/);
    const { result, after } = await generated({
      before,
      rows: "INSERT INTO ev (kind) VALUES ('a'), ('b');",
      after: 'CREATE TABLE ev (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, at TEXT DEFAULT CURRENT_TIMESTAMP);',
    });
    expect(result.sql).toMatch(/-- stores:rebuild ev\nCREATE TABLE ev/);
    expect(after.ev!.every((r) => typeof r.at === 'string')).toBe(true);
  });

  it('a column added in the middle is copied by name in a rebuild, never selected from the old table (drizzle-team/drizzle-orm#5822)', async () => {
    const { result, after } = await generated({
      before: 'CREATE TABLE test (column1 TEXT NOT NULL, column3 TEXT);',
      rows: "INSERT INTO test VALUES ('a', 'x'), ('b', NULL);",
      after: 'CREATE TABLE test (column1 TEXT NOT NULL, column2 TEXT, column3 TEXT);',
    });
    expect(result.sql).toMatch(/stores:rebuild test/);
    expect(after.test!.map((r) => Object.keys(r))).toEqual([['column1', 'column2', 'column3'], ['column1', 'column2', 'column3']]);
  });

  it('adds a nullable reference with ADD COLUMN: the table keeps its rows (drizzle-team/drizzle-kit-mirror#122)', async () => {
    const { result } = await generated({
      before: 'CREATE TABLE folder (id INTEGER PRIMARY KEY);\nCREATE TABLE document (id INTEGER PRIMARY KEY, name TEXT NOT NULL);',
      rows: "INSERT INTO folder VALUES (1); INSERT INTO document VALUES (1, 'a'), (2, 'b');",
      after: 'CREATE TABLE folder (id INTEGER PRIMARY KEY);\nCREATE TABLE document (id INTEGER PRIMARY KEY, name TEXT NOT NULL, folder_id INTEGER REFERENCES folder(id) ON DELETE CASCADE);',
    });
    expect(result.sql).toMatch(/ALTER TABLE "document" ADD COLUMN folder_id INTEGER REFERENCES folder\(id\) ON DELETE CASCADE;/);
  });

  it('a new column with a CHECK on itself and a default that satisfies it is added by ALTER (SQLite checks the rows)', async () => {
    const { result } = await generated({
      before: 'CREATE TABLE t (id INTEGER PRIMARY KEY);',
      rows: 'INSERT INTO t VALUES (1), (2);',
      after: "CREATE TABLE t (id INTEGER PRIMARY KEY, state TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'old')));",
    });
    expect(result.sql).toMatch(/ADD COLUMN state TEXT NOT NULL DEFAULT 'new' CHECK/);
  });

  it('renames a column only from the annotation, with RENAME COLUMN: every value kept (drizzle-team/drizzle-orm#3653, #5587)', async () => {
    const { result } = await generated({
      before: 'CREATE TABLE services (id TEXT PRIMARY KEY);\nCREATE TABLE service_links (service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE, provider_id TEXT NOT NULL, PRIMARY KEY (service_id, provider_id));',
      rows: "INSERT INTO services VALUES ('s1'), ('s2'); INSERT INTO service_links VALUES ('s1', 'p'), ('s2', 'q');",
      after: 'CREATE TABLE services (id TEXT PRIMARY KEY);\nCREATE TABLE service_links (\n  client_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE, -- stores:renamed-from service_id\n  provider_id TEXT NOT NULL,\n  PRIMARY KEY (client_id, provider_id));',
      renames: { columns: { service_links: { service_id: 'client_id' } } },
    });
    expect(result.sql).toMatch(/ALTER TABLE "service_links" RENAME COLUMN "service_id" TO "client_id";/);
    expect(result.sql).not.toMatch(/stores:rebuild|DROP/);
  });

  it('a dropped column next to a similar added one is refused: "is this a rename?" (drizzle-team/drizzle-orm#3653)', async () => {
    const r = await refused({
      before: 'CREATE TABLE task (id INTEGER PRIMARY KEY, is_invisible INTEGER NOT NULL DEFAULT 0);',
      after: 'CREATE TABLE task (id INTEGER PRIMARY KEY, is_visible INTEGER NOT NULL DEFAULT 0);',
      options: { destructive: 'even when told' },
    });
    expect(why(r)).toMatch(/is this a rename\?/);
    expect(why(r)).toMatch(/-- stores:renamed-from is_invisible/);
  });

  it('refuses to drop a column without --destructive; with it, DROP COLUMN and the declaration', async () => {
    const c = { before: 'CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT, legacy_code TEXT);', after: 'CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT);' };
    expect(why(await refused(c))).toMatch(/--destructive/);
    const { result } = await generated({ ...c, rows: "INSERT INTO items VALUES ('i1', 'a', 'x');", options: { destructive: 'legacy_code is read by nothing since 1.3' } });
    expect(result.sql).toMatch(/-- stores:destructive legacy_code is read by nothing since 1\.3\n/);
    expect(result.sql).toMatch(/ALTER TABLE "items" DROP COLUMN "legacy_code";/);
  });

  it('drops an indexed column: the index goes first, then a plain DROP COLUMN, no data moved (drizzle-team/drizzle-kit-mirror#339)', async () => {
    const { result } = await generated({
      before: 'CREATE TABLE t (id INTEGER PRIMARY KEY, c TEXT, d TEXT);\nCREATE INDEX idx ON t(c);',
      rows: "INSERT INTO t VALUES (1, 'x', 'y');",
      after: 'CREATE TABLE t (id INTEGER PRIMARY KEY, d TEXT);',
      options: { destructive: 'c is unused' },
    });
    expect(result.sql).toMatch(/DROP INDEX "idx";\nALTER TABLE "t" DROP COLUMN "c";/);
  });

  it('drops a column a view and a trigger use: both dropped before and recreated after', async () => {
    const { result } = await generated({
      before: 'CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT, legacy TEXT, updated INTEGER);\nCREATE VIEW named AS SELECT id, name, legacy FROM items;\nCREATE TRIGGER touch AFTER UPDATE ON items BEGIN UPDATE items SET updated = 1 WHERE id = new.id AND new.legacy IS NULL; END;',
      rows: "INSERT INTO items VALUES ('a', 'x', 'l', 0);",
      after: 'CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT, updated INTEGER);\nCREATE VIEW named AS SELECT id, name FROM items;\nCREATE TRIGGER touch AFTER UPDATE ON items BEGIN UPDATE items SET updated = 1 WHERE id = new.id; END;',
      options: { destructive: 'legacy is unused' },
    });
    expect(result.sql).toMatch(/DROP VIEW "named";[\s\S]*DROP TRIGGER "touch";[\s\S]*DROP COLUMN "legacy";[\s\S]*CREATE VIEW named[\s\S]*CREATE TRIGGER touch/);
  });
});

describe('generate: rebuilds', () => {
  it('a parent rebuilt for a new default fires no ON DELETE CASCADE: the children keep every row (drizzle-team/drizzle-orm#5782, #4938; ariga/atlas#3317; ent/ent#2954)', async () => {
    const { result, after } = await generated({
      before: "CREATE TABLE chats (id TEXT PRIMARY KEY, mode TEXT DEFAULT 'preview');\nCREATE TABLE messages (id INTEGER PRIMARY KEY, chat_id TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE);\nCREATE TABLE attachments (id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE);",
      rows: "INSERT INTO chats VALUES ('c1', 'preview'), ('c2', NULL); INSERT INTO messages VALUES (1, 'c1'), (2, 'c1'), (3, 'c2'); INSERT INTO attachments VALUES (1, 1), (2, 3);",
      after: "CREATE TABLE chats (id TEXT PRIMARY KEY, mode TEXT DEFAULT 'markup');\nCREATE TABLE messages (id INTEGER PRIMARY KEY, chat_id TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE);\nCREATE TABLE attachments (id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE);",
    });
    expect(result.sql).toMatch(/-- stores:rebuild chats/);
    expect(after.messages).toHaveLength(3);
    expect(after.attachments).toHaveLength(2);
  });

  it('a rebuild keeps the indexes, triggers and UNIQUE constraints it does not change, each created once (drizzle-team/drizzle-orm#6060, #5268)', async () => {
    const before = `CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, sku TEXT NOT NULL UNIQUE, state TEXT NOT NULL CHECK (state IN ('open', 'paid')), label TEXT);
CREATE INDEX orders_sku_idx ON orders(sku);
CREATE TABLE audit (order_id INTEGER, at TEXT);
CREATE TRIGGER orders_audit AFTER INSERT ON orders BEGIN INSERT INTO audit VALUES (new.id, 'now'); END;`;
    const { result, file } = await generated({
      before,
      rows: "INSERT INTO orders (sku, state) VALUES ('a', 'open'), ('b', 'paid');",
      after: before.replace("IN ('open', 'paid')", "IN ('open', 'paid', 'refunded')"),
    });
    expect(result.sql).toMatch(/-- stores:rebuild orders/);
    expect(result.sql).not.toMatch(/CREATE INDEX|CREATE TRIGGER/);
    expect(query(file, "SELECT name FROM sqlite_schema WHERE tbl_name = 'orders' AND type IN ('index', 'trigger') ORDER BY name")).toEqual([{ name: 'orders_audit' }, { name: 'orders_sku_idx' }, { name: 'sqlite_autoindex_orders_1' }]);
    expect(() => writeSql(file, "INSERT INTO orders (sku, state) VALUES ('a', 'refunded');", 2)).toThrow(/UNIQUE/);
  });

  it('an enum CHECK list grown is a widening: rebuilt, every row kept', async () => {
    const { result } = await generated({
      before: "CREATE TABLE job (id TEXT PRIMARY KEY, state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done')));",
      rows: "INSERT INTO job VALUES ('1', 'queued'), ('2', 'running'), ('3', 'done');",
      after: "CREATE TABLE job (id TEXT PRIMARY KEY, state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'cancelled')));",
    });
    expect(result.sql).toMatch(/-- stores:rebuild job\nCREATE TABLE job/);
    expect(result.sql).not.toMatch(/destructive/);
  });

  it('a type change within the same affinity (VARCHAR(10) → TEXT) is rebuilt; an index on the column follows', async () => {
    const { result } = await generated({
      before: 'CREATE TABLE u (id INTEGER PRIMARY KEY, email VARCHAR(10));\nCREATE INDEX u_email ON u(email);',
      rows: "INSERT INTO u (email) VALUES ('a@b'), ('c@d');",
      after: 'CREATE TABLE u (id INTEGER PRIMARY KEY, email TEXT);\nCREATE INDEX u_email ON u(email);',
    });
    expect(result.sql).toMatch(/stores:rebuild u/);
  });

  it('a foreign key whose action changes (CASCADE → SET NULL) points at the same rows: rebuilt, not refused', async () => {
    const { result, after } = await generated({
      before: 'CREATE TABLE p (id INTEGER PRIMARY KEY);\nCREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id) ON DELETE CASCADE);',
      rows: 'INSERT INTO p VALUES (1), (2); INSERT INTO c VALUES (1, 1), (2, 2), (3, NULL);',
      after: 'CREATE TABLE p (id INTEGER PRIMARY KEY);\nCREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id) ON DELETE SET NULL);',
    });
    expect(result.sql).toMatch(/stores:rebuild c/);
    expect(after.c).toHaveLength(3);
  });

  it('a change to one table leaves an unrelated table with named CHECK constraints alone (kalbasit/ncps#1328)', async () => {
    const narinfos = 'CREATE TABLE narinfos (id INTEGER PRIMARY KEY, file_size INTEGER, nar_size INTEGER, CONSTRAINT narinfos_file_size_nonneg CHECK (file_size >= 0), CONSTRAINT narinfos_nar_size_nonneg CHECK (nar_size >= 0));\n';
    const { result } = await generated({
      before: `${narinfos}CREATE TABLE nar_files (id INTEGER PRIMARY KEY, hash TEXT NOT NULL);`,
      rows: "INSERT INTO narinfos VALUES (1, 10, 20); INSERT INTO nar_files VALUES (1, 'h');",
      after: `${narinfos}CREATE TABLE nar_files (id INTEGER PRIMARY KEY, hash TEXT NOT NULL, bytes_stored_at INTEGER);`,
    });
    expect(result.sql.trim().split('\n').slice(1)).toEqual(['ALTER TABLE "nar_files" ADD COLUMN bytes_stored_at INTEGER;']);
  });

  it('a changed index is dropped and created again', async () => {
    const { result } = await generated({
      before: 'CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT);\nCREATE INDEX t_ab ON t(a);',
      rows: "INSERT INTO t VALUES (1, 'x', 'y');",
      after: 'CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT);\nCREATE INDEX t_ab ON t(a, b);',
    });
    expect(result.sql).toMatch(/DROP INDEX "t_ab";\nCREATE INDEX t_ab ON t\(a, b\);/);
  });
});

describe('generate: refusals name the reason and what to write instead', () => {
  const base = "CREATE TABLE job (id TEXT PRIMARY KEY, n INTEGER, state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done')), owner TEXT);";
  it('an enum CHECK list shrunk, or a new CHECK on an existing column', async () => {
    expect(why(await refused({ before: base, after: base.replace(", 'done'", '') }))).toMatch(/tightened CHECK/);
    expect(why(await refused({ before: base, after: base.replace('n INTEGER', 'n INTEGER CHECK (n > 0)') }))).toMatch(/CHECK \(n > 0\)/);
  });

  it('a narrowing type change (TEXT → INTEGER)', async () => {
    expect(why(await refused({ before: base, after: base.replace('owner TEXT', 'owner INTEGER') }))).toMatch(/narrowing type change: TEXT → INTEGER/);
  });

  it('NOT NULL on an existing column', async () => {
    expect(why(await refused({ before: base, after: base.replace('owner TEXT', 'owner TEXT NOT NULL') }))).toMatch(/NOT NULL on job\.owner[\s\S]*coalesce/);
  });

  it('primary key, AUTOINCREMENT, STRICT and WITHOUT ROWID changes', async () => {
    expect(why(await refused({ before: base, after: base.replace('id TEXT PRIMARY KEY', 'id TEXT').replace('owner TEXT', 'owner TEXT, PRIMARY KEY (id, owner)') }))).toMatch(/primary key of job/);
    expect(why(await refused({ before: 'CREATE TABLE c (id INTEGER PRIMARY KEY, x TEXT);', after: 'CREATE TABLE c (id INTEGER PRIMARY KEY AUTOINCREMENT, x TEXT);' }))).toMatch(/AUTOINCREMENT/);
    expect(why(await refused({ before: 'CREATE TABLE c (id INTEGER PRIMARY KEY, x TEXT);', after: 'CREATE TABLE c (id INTEGER PRIMARY KEY, x TEXT) STRICT;' }))).toMatch(/strict of c/);
    expect(why(await refused({ before: 'CREATE TABLE c (id TEXT PRIMARY KEY NOT NULL, x TEXT);', after: 'CREATE TABLE c (id TEXT PRIMARY KEY NOT NULL, x TEXT) WITHOUT ROWID;' }))).toMatch(/withoutRowid of c/);
  });

  it('a new UNIQUE or a new foreign key on existing rows', async () => {
    expect(why(await refused({ before: base, after: base.replace('owner TEXT', 'owner TEXT UNIQUE') }))).toMatch(/UNIQUE \(owner\)[\s\S]*duplicates/);
    const parent = 'CREATE TABLE people (id TEXT PRIMARY KEY);\n';
    expect(why(await refused({ before: parent + base, after: parent + base.replace('owner TEXT', 'owner TEXT REFERENCES people(id)') }))).toMatch(/foreign key of job[\s\S]*point at nothing/);
  });

  it('a new UNIQUE index on an existing table (a new table may have one)', async () => {
    expect(why(await refused({ before: base, after: `${base}\nCREATE UNIQUE INDEX job_owner ON job(owner);` }))).toMatch(/UNIQUE index job_owner[\s\S]*duplicates/);
  });

  it('a table dropped without --destructive, and a dropped table next to a similar new one ("is this a rename?")', async () => {
    expect(why(await refused({ before: `${base}\nCREATE TABLE old_logs (id INTEGER PRIMARY KEY, line TEXT);`, after: base }))).toMatch(/table old_logs dropped[\s\S]*--destructive/);
    const r = await refused({ before: 'CREATE TABLE agents (id TEXT PRIMARY KEY, name TEXT NOT NULL);', after: 'CREATE TABLE wallets (id TEXT PRIMARY KEY, name TEXT NOT NULL);', options: { destructive: 'told' } });
    expect(why(r)).toMatch(/is this a rename\?[\s\S]*-- stores:renamed-from agents/);
  });
});

describe('generate: tables', () => {
  it('creates a new table, its index and a view', async () => {
    const { result } = await generated({
      before: 'CREATE TABLE a (id INTEGER PRIMARY KEY, name TEXT);',
      rows: "INSERT INTO a VALUES (1, 'x');",
      after: 'CREATE TABLE a (id INTEGER PRIMARY KEY, name TEXT);\nCREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a(id));\nCREATE INDEX b_a ON b(a_id);\nCREATE VIEW ab AS SELECT a.name, b.id FROM a JOIN b ON b.a_id = a.id;',
      options: { name: 'Add b' },
    });
    expect(result.file).toMatch(/002-add-b\.sql$/);
    expect(result.sql).toMatch(/CREATE TABLE b[\s\S]*CREATE INDEX b_a[\s\S]*CREATE VIEW ab/);
  });

  it('a table dropped and an unlike table created (only the id in common) are no rename', async () => {
    const { result } = await generated({
      before: 'CREATE TABLE logs (id INTEGER PRIMARY KEY, line TEXT);',
      rows: "INSERT INTO logs VALUES (1, 'l');",
      after: 'CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL);',
      options: { destructive: 'logs moved to the log service' },
    });
    expect(result.sql).toMatch(/CREATE TABLE events[\s\S]*DROP TABLE "logs";/);
  });

  it('drops a table with --destructive; a view that reads it goes first', async () => {
    const { result } = await generated({
      before: 'CREATE TABLE a (id INTEGER PRIMARY KEY);\nCREATE TABLE logs (id INTEGER PRIMARY KEY, a_id INTEGER, line TEXT);\nCREATE VIEW la AS SELECT line FROM logs;',
      rows: "INSERT INTO a VALUES (1); INSERT INTO logs VALUES (1, 1, 'l');",
      after: 'CREATE TABLE a (id INTEGER PRIMARY KEY);',
      options: { destructive: 'logs moved to the log service' },
    });
    expect(result.sql).toMatch(/-- stores:destructive logs moved to the log service[\s\S]*DROP VIEW "la";[\s\S]*DROP TABLE "logs";/);
  });

  it('agents → wallets across five tables: the table and every foreign-key column renamed from annotations, indexes renamed, every row kept', async () => {
    const dir = path.resolve(__dirname, 'fixtures/evolution/rename-agents-wallets');
    const before = fs.readFileSync(path.join(dir, 'versions/001.sql'), 'utf8');
    const annotated = fs
      .readFileSync(path.join(dir, 'schema.sql'), 'utf8')
      .replace('CREATE TABLE wallets (', 'CREATE TABLE wallets ( -- stores:renamed-from agents\n')
      .replace(/wallet_id (TEXT[^,]*)(,|\))/g, (m, def: string, end: string) => `wallet_id ${def}${end} -- stores:renamed-from agent_id\n`);
    const columns = Object.fromEntries(['agent_keys', 'agent_limits', 'agent_events', 'agent_tags', 'payments'].map((t) => [t, { agent_id: 'wallet_id' }]));
    const { result, after } = await generated({ before, rows: fs.readFileSync(path.join(dir, 'data.sql'), 'utf8'), after: annotated, renames: { tables: { agents: 'wallets' }, columns } });
    expect(result.sql).toMatch(/ALTER TABLE "agents" RENAME TO "wallets";/);
    expect(result.sql.match(/RENAME COLUMN "agent_id" TO "wallet_id"/g)).toHaveLength(5);
    expect(result.sql).toMatch(/DROP INDEX "idx_agent_keys_agent";[\s\S]*CREATE INDEX idx_agent_keys_wallet/);
    expect(result.sql).not.toMatch(/stores:rebuild|DROP TABLE|destructive/);
    expect(after.wallets).toHaveLength(3);
  });

  it('sessions.wallet_id → session_wallets is a data move: a skeleton to complete, which does not load until it is', async () => {
    const dir = path.resolve(__dirname, 'fixtures/evolution/junction-sessions-wallets');
    const before = fs.readFileSync(path.join(dir, 'versions/001.sql'), 'utf8');
    const reg = registryOf({ before, after: fs.readFileSync(path.join(dir, 'schema.sql'), 'utf8') });
    const r = await generateMigration(reg, 'app', { name: 'session wallets' });
    expect(r.action).toBe('skeleton');
    expect(r.refusals.map((x) => x.why).join()).toMatch(/sessions\.wallet_id is dropped while the new table session_wallets[\s\S]*data move/);
    expect(r.sql).toMatch(/INSERT INTO "session_wallets" \("session_id", "wallet_id"\) SELECT "id", "wallet_id" FROM "sessions" WHERE "wallet_id" IS NOT NULL/);
    expect(r.sql).toMatch(/DROP INDEX "idx_sessions_wallet";[\s\S]*stores:rebuild sessions/);
    await expect(loadRegistry(reg)).rejects.toThrow(/skeleton still to complete/);
    // Completed: the to-do lines gone, a reason given. verify proves it; up moves the values.
    const sql = fs.readFileSync(r.file!, 'utf8').split('\n').filter((l) => !l.includes('stores:todo')).join('\n').replace(/stores:destructive .*/, 'stores:destructive the wallet of a session now lives in session_wallets');
    fs.writeFileSync(r.file!, sql);
    const store = (await loadRegistry(reg)).stores[0]!;
    const dataDir = tmpDir();
    const file = path.join(dataDir, 'app.db');
    writeSql(file, before + fs.readFileSync(path.join(dir, 'data.sql'), 'utf8'), 1);
    const pairs = query(file, 'SELECT id, wallet_id FROM sessions WHERE wallet_id IS NOT NULL ORDER BY id');
    expect(reconcileStore(store, dataDir, { mode: 'up', backup: false }).action).toBe('migrated');
    expect(query(file, 'SELECT session_id AS id, wallet_id FROM session_wallets ORDER BY session_id')).toEqual(pairs);
    expect((await generateMigration(reg, 'app')).action).toBe('unchanged');
  });
});

describe('generate: input and files', () => {
  it('nothing changed: nothing written; a stale rename annotation is a note, one that matches nothing an error', async () => {
    const reg = registryOf({ before: 'CREATE TABLE a (id INTEGER PRIMARY KEY);', after: 'CREATE TABLE a (id INTEGER PRIMARY KEY);' });
    const r = await generateMigration(reg, 'app');
    expect(r.action).toBe('unchanged');
    expect(fs.existsSync(path.join(reg, 'app', 'migrations'))).toBe(false);
    fs.writeFileSync(path.join(reg, 'app', 'schema.sql'), 'CREATE TABLE a ( -- stores:renamed-from zzz\n id INTEGER PRIMARY KEY);');
    await expect(generateMigration(reg, 'app')).rejects.toThrow(/renamed-from zzz" on table a: this version has no table zzz/);
    const reg2 = registryOf({ before: 'CREATE TABLE a (id INTEGER PRIMARY KEY);', after: 'CREATE TABLE b ( -- stores:renamed-from a\n id INTEGER PRIMARY KEY);' });
    expect((await generateMigration(reg2, 'app')).action).toBe('written');
    const again = await generateMigration(reg2, 'app');
    expect(again.action).toBe('unchanged');
    expect(again.notes.join()).toMatch(/b is already named so at this version; "-- stores:renamed-from a" can be removed/);
  });

  it('reads rename annotations: trailing ones belong to their line, one alone on its line to the next definition', () => {
    const sql = [
      '-- stores:renamed-from agents',
      'CREATE TABLE "wallets" (',
      '  id TEXT PRIMARY KEY, -- stores:renamed-from agent_id',
      '  -- stores:renamed-from label',
      '  name TEXT NOT NULL, CHECK (name <> \'\')',
      ');',
      'CREATE TABLE keys (k TEXT); -- stores:renamed-from secrets',
    ].join('\n');
    expect(renameAnnotations(sql)).toEqual([
      { kind: 'table', table: 'wallets', from: 'agents', line: 1 },
      { kind: 'column', table: 'wallets', column: 'id', from: 'agent_id', line: 3 },
      { kind: 'column', table: 'wallets', column: 'name', from: 'label', line: 4 },
      { kind: 'table', table: 'keys', from: 'secrets', line: 7 },
    ]);
    expect(renameAnnotations('CREATE TABLE t (a TEXT, -- stores:renamed-from b\n c TEXT) -- stores:renamed-from u\n;')).toEqual([
      { kind: 'column', table: 't', column: 'a', from: 'b', line: 1 },
      { kind: 'table', table: 't', from: 'u', line: 2 },
    ]);
    expect(() => renameAnnotations('CREATE TABLE a (x);\n-- stores:renamed-from b\n')).toThrow(/line 2: .* is on no table or column/);
  });

  it('a store with no migration and no frozen schema: schema.sql is the only record, so it says what to write', async () => {
    const reg = registryOf({ before: '', after: 'CREATE TABLE a (id INTEGER PRIMARY KEY);' });
    fs.rmSync(path.join(reg, 'app', 'versions'), { recursive: true });
    await expect(generateMigration(reg, 'app')).rejects.toThrow(RegistryError);
    await expect(generateMigration(reg, 'app')).rejects.toThrow(/versions\/001\.sql/);
  });

  it('bumps version in store.json keeping every other byte, writing the implied minVersion', () => {
    const text = '{\n  "$schema": "../../store.schema.json",\n  "file": "a.db",\n  "version": 1,\n  "legacy": { "history": [{ "table": "v", "version": "SELECT 1" }] }\n}\n';
    expect(bumpStoreJson(text, 2, 1)).toBe(text.replace('"version": 1,', '"version": 2,\n  "minVersion": 1,'));
    expect(bumpStoreJson('{"version":4,"minVersion":1}', 5, null)).toBe('{"version":5,"minVersion":1}');
  });

  it('a second step on a store that already has migrations: from the oldest schema plus its migrations', async () => {
    const reg = registryOf({ before: 'CREATE TABLE a (id INTEGER PRIMARY KEY);', after: 'CREATE TABLE a (id INTEGER PRIMARY KEY, x TEXT);' });
    expect((await generateMigration(reg, 'app')).action).toBe('written');
    fs.writeFileSync(path.join(reg, 'app', 'schema.sql'), 'CREATE TABLE a (id INTEGER PRIMARY KEY, x TEXT, y INTEGER NOT NULL DEFAULT 0);');
    const r = await generateMigration(reg, 'app', { name: 'y' });
    expect(r.action).toBe('written');
    expect(r.file).toMatch(/003-y\.sql$/);
    expect(JSON.parse(fs.readFileSync(path.join(reg, 'app', 'store.json'), 'utf8'))).toEqual({ file: 'app.db', version: 3, minVersion: 1 });
  });
});

describe('generate: combined changes and hand-written history', () => {
  it('a column renamed and a CHECK list grown in one table: the rename first, then the rebuild copies by name', async () => {
    const { result, after } = await generated({
      before: "CREATE TABLE job (id TEXT PRIMARY KEY, st TEXT NOT NULL CHECK (st IN ('a', 'b')));\nCREATE INDEX job_st ON job(st);",
      rows: "INSERT INTO job VALUES ('1', 'a'), ('2', 'b');",
      after: "CREATE TABLE job (id TEXT PRIMARY KEY,\n  state TEXT NOT NULL CHECK (state IN ('a', 'b', 'c')) -- stores:renamed-from st\n);\nCREATE INDEX job_st ON job(state);",
      renames: { columns: { job: { st: 'state' } } },
    });
    expect(result.sql).toMatch(/RENAME COLUMN "st" TO "state";\n-- stores:rebuild job/);
    expect(after.job!.map((r) => r.state)).toEqual(['a', 'b']);
  });

  it('a table and one of its own columns renamed together: the table first, then the column under its new table name', async () => {
    const { result } = await generated({
      before: 'CREATE TABLE agents (id TEXT PRIMARY KEY, agent_name TEXT NOT NULL);',
      rows: "INSERT INTO agents VALUES ('a', 'x');",
      after: 'CREATE TABLE wallets ( -- stores:renamed-from agents\n  id TEXT PRIMARY KEY,\n  name TEXT NOT NULL -- stores:renamed-from agent_name\n);',
      renames: { tables: { agents: 'wallets' }, columns: { agents: { agent_name: 'name' } } },
    });
    expect(result.sql).toMatch(/ALTER TABLE "agents" RENAME TO "wallets";\nALTER TABLE "wallets" RENAME COLUMN "agent_name" TO "name";/);
  });

  it('a table renamed that a view and a trigger name: SQLite rewrites them, nothing is dropped', async () => {
    const { result } = await generated({
      before: 'CREATE TABLE agents (id TEXT PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0);\nCREATE VIEW busy AS SELECT id FROM agents WHERE n > 0;\nCREATE TRIGGER bump AFTER INSERT ON agents BEGIN UPDATE agents SET n = n + 1 WHERE id = new.id; END;',
      rows: "INSERT INTO agents VALUES ('a', 0), ('b', 2);",
      after: '-- stores:renamed-from agents\nCREATE TABLE wallets (id TEXT PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0);\nCREATE VIEW busy AS SELECT id FROM wallets WHERE n > 0;\nCREATE TRIGGER bump AFTER INSERT ON wallets BEGIN UPDATE wallets SET n = n + 1 WHERE id = new.id; END;',
      renames: { tables: { agents: 'wallets' } },
    });
    expect(result.sql.trim().split('\n').slice(1)).toEqual(['ALTER TABLE "agents" RENAME TO "wallets";']);
  });

  it('the shipped objects store (hand-written migrations, frozen v4): a column added to db_client becomes migration 005, proven on every version', async () => {
    const reg = path.join(tmpDir('stores-generate-'), 'stores');
    fs.cpSync(path.resolve(__dirname, '../stores'), reg, { recursive: true });
    const schema = path.join(reg, 'objects', 'schema.sql');
    fs.writeFileSync(schema, fs.readFileSync(schema, 'utf8').replace('CREATE TABLE db_client    (oid TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, data TEXT NOT NULL);', "CREATE TABLE db_client    (oid TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, data TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '');"));
    const r = await generateMigration(reg, 'objects', { name: 'client tags' });
    expect(r.action).toBe('written');
    expect(r.file).toMatch(/005-client-tags\.sql$/);
    expect(r.sql).toMatch(/ALTER TABLE "db_client" ADD COLUMN tags TEXT NOT NULL DEFAULT '';/);
    expect(r.verify!.filter((c) => c.name.includes('migrates to the baseline'))).toHaveLength(4);
    expect((await loadRegistry(reg)).stores.find((s) => s.name === 'objects')!.version).toBe(5);
  });
});

describe('stores generate (CLI)', () => {
  it('prints the migration, --dry-run writes nothing (exit 3), a refusal exits 4, --json is one document', () => {
    const reg = registryOf({ before: 'CREATE TABLE a (id INTEGER PRIMARY KEY, old TEXT);', after: 'CREATE TABLE a (id INTEGER PRIMARY KEY, old TEXT, x TEXT);' });
    const dry = cli(['generate', 'app', '--stores', reg, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(3);
    expect(dry.stdout).toMatch(/ALTER TABLE "a" ADD COLUMN x TEXT;/);
    expect(fs.existsSync(path.join(reg, 'app', 'migrations'))).toBe(false);
    const done = cli(['generate', 'app', '--stores', reg, '--json']);
    expect(done.code, done.stderr).toBe(0);
    const doc = JSON.parse(done.stdout) as GenerateResult;
    expect(doc).toMatchObject({ store: 'app', from: 1, to: 2, action: 'written' });
    expect(cli(['generate', 'app', '--stores', reg]).stdout).toMatch(/nothing to do/);
    fs.writeFileSync(path.join(reg, 'app', 'schema.sql'), 'CREATE TABLE a (id INTEGER PRIMARY KEY, x TEXT);');
    const no = cli(['generate', 'app', '--stores', reg]);
    expect(no.code).toBe(4);
    expect(no.stdout + no.stderr).toMatch(/refused[\s\S]*--destructive/);
    const yes = cli(['generate', 'app', '--stores', reg, '--destructive', 'old is unused']);
    expect(yes.code, yes.stderr + yes.stdout).toBe(0);
    expect(cli(['generate', 'nope', '--stores', reg]).code).toBe(2);
  });
});
