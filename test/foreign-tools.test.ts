/**
 * Files kept by other migration tools (issue 12 item 4), made by the tools themselves where they
 * install here: drizzle-orm's migrator, Kysely's Migrator, knex, TypeORM and dbmate's npm binary
 * (test/tools/real.ts). golang-migrate, sqlx and Flyway are not in the npm registry or Debian's
 * packages here, and Prisma's engines download from outside the npm registry: their files are built
 * from each tool's own table definition and the statements its source runs, cited in
 * test/tools/documented.ts. Every maker runs the same schema steps as the `notes` store's versions
 * (test/tools/notes.ts), at every version, with rows.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { PRESETS, TOOL_NAMES, type HistoryRead, type ToolName } from '../src/engine/history-presets.js';
import { inspect } from '../src/schema/inspect.js';
import { diff, describeChange } from '../src/schema/diff.js';
import { createRegistry } from '../src/api.js';
import { reconcileStore } from '../src/engine/reconcile.js';
import type { Store } from '../src/types.js';
import { fingerprint, query, tmpDir, userVersion } from './helpers.js';
import { dbmateVersion, drizzleWhen, knexName, kyselyName, makeDbmate, makeDrizzle, makeKnex, makeKysely, makeTypeorm, runDbmate, typeormName } from './tools/real.js';
import { flywayScript, makeFlyway, makeGolangMigrate, makePrisma, makeSqlx, prismaName } from './tools/documented.js';
import { allRows, notesStore, rowsAt, sqlOf, STEPS } from './tools/notes.js';

type Maker = (file: string, upTo: number) => void | Promise<void>;

/** Each tool: how it makes a file at version v, and the identifiers it records for versions 1..v. */
const TOOLS: Record<ToolName, { make: Maker; ids: (v: number) => string[]; real: boolean }> = {
  drizzle: { make: makeDrizzle, ids: (v) => upTo(v).map((i) => String(drizzleWhen(i))), real: true },
  kysely: { make: makeKysely, ids: (v) => upTo(v).map(kyselyName), real: true },
  knex: { make: makeKnex, ids: (v) => upTo(v).map(knexName), real: true },
  typeorm: { make: makeTypeorm, ids: (v) => upTo(v).map(typeormName), real: true },
  dbmate: { make: makeDbmate, ids: (v) => upTo(v).map(dbmateVersion), real: true },
  'golang-migrate': { make: makeGolangMigrate, ids: (v) => [String(v)], real: false },
  sqlx: { make: makeSqlx, ids: (v) => upTo(v).map(String), real: false },
  prisma: { make: makePrisma, ids: (v) => upTo(v).map(prismaName), real: false },
  flyway: { make: makeFlyway, ids: (v) => upTo(v).map(String), real: false },
};

function upTo(v: number): number[] {
  return Array.from({ length: v }, (_, i) => i + 1);
}

const dir = tmpDir('stores-foreign-');
let serial = 0;
/** A new file path in its own folder (a data dir of one store file). */
function freshFile(tool: string, v: number): string {
  const d = path.join(dir, `${tool}-${v}-${++serial}`);
  fs.mkdirSync(d);
  return path.join(d, 'notes.db');
}

/** The tool brings a new file to version v; then the app writes rows valid at v. */
async function toolFile(tool: ToolName, v: number): Promise<string> {
  const file = freshFile(tool, v);
  await TOOLS[tool].make(file, v);
  const db = new Database(file);
  try {
    db.exec(rowsAt(v));
  } finally {
    db.close();
  }
  return file;
}

function read(tool: ToolName, file: string): HistoryRead {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return PRESETS[tool].read(db);
  } finally {
    db.close();
  }
}

/** The schema differences between our version v (replayed in memory) and `file` less the tool's tables. */
function schemaGap(tool: ToolName, file: string, v: number): string[] {
  const copy = new Database(fs.readFileSync(file));
  const ours = new Database(':memory:');
  try {
    for (const t of PRESETS[tool].tables) copy.exec(`DROP TABLE IF EXISTS "${t}"`);
    for (let i = 1; i <= v; i++) ours.exec(sqlOf(i));
    return diff(inspect(ours), inspect(copy)).map(describeChange);
  } finally {
    copy.close();
    ours.close();
  }
}

describe('presets read what each tool really wrote', () => {
  for (const tool of TOOL_NAMES) {
    const { ids, real } = TOOLS[tool];
    it(`${tool} (${real ? 'the tool itself' : "built from the tool's source"}): versions 1-4 read back, its tables are its only objects`, async () => {
      for (const v of [1, 2, 3, 4]) {
        const file = await toolFile(tool, v);
        const h = read(tool, file);
        expect(h, `${tool} at ${v}`).toEqual({
          applied: ids(v),
          version: PRESETS[tool].kind === 'version' ? v : null,
          current: PRESETS[tool].kind === 'version' ? String(v) : null,
          problem: null,
          locked: false,
        });
        const names = new Database(file, { readonly: true }).prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all() as string[];
        expect(names).toContain(PRESETS[tool].marker);
        expect(schemaGap(tool, file, v), `${tool} at ${v}: our v${v} schema = the file less ${PRESETS[tool].tables.join(', ')}`).toEqual([]);
      }
    });
  }

  it('dbmate and golang-migrate share schema_migrations: each preset refuses the other tool\'s table, naming it', async () => {
    const dbmate = await toolFile('dbmate', 2);
    const golang = await toolFile('golang-migrate', 2);
    expect(() => read('golang-migrate', dbmate)).toThrow(/table "schema_migrations" has columns \(version\), not golang-migrate's \(version, dirty\): missing dirty/);
    expect(() => read('dbmate', golang)).toThrow(/"dirty" column: that is golang-migrate's table/);
    expect(() => read('drizzle', dbmate)).toThrow(/the file has no table "__drizzle_migrations"/);
  });
});

describe('what each tool records for a failed, unfinished, rolled-back or dirty migration', () => {
  it('knex: a run that died inside a migration leaves knex_migrations_lock.is_locked = 1 (made by knex, disableTransactions)', async () => {
    const file = freshFile('knex-locked', 2);
    const crashed = path.join(path.dirname(file), 'crashed.db');
    // knex commits its lock before migration 2 runs; a copy taken there is the file a crash leaves.
    await makeKnex(file, 2, { disableTransactions: true, during: { version: 2, run: () => fs.copyFileSync(file, crashed) } });
    expect(read('knex', file)).toMatchObject({ applied: [knexName(1), knexName(2)], locked: false });
    expect(read('knex', crashed)).toMatchObject({ applied: [knexName(1)], locked: true, problem: null });
  });

  it("kysely: on SQLite its Migrator takes no lock (the adapter's acquireMigrationLock is a no-op): is_locked stays 0 inside a migration", async () => {
    const file = freshFile('kysely-lock', 2);
    const seen: unknown[] = [];
    await makeKysely(file, 2, async (k) => {
      seen.push(...(await sql<{ is_locked: number }>`SELECT id, is_locked FROM kysely_migration_lock`.execute(k)).rows);
    });
    expect(seen).toEqual([{ id: 'migration_lock', is_locked: 0 }, { id: 'migration_lock', is_locked: 0 }]);
    expect(read('kysely', file).locked).toBe(false);
  });

  it('dbmate: a failed migration records nothing (its transaction rolls back), the file stays at the last good version', async () => {
    const file = freshFile('dbmate-failed', 2);
    const r = runDbmate(file, 2, { name: `${dbmateVersion(3)}_broken.sql`, sql: '-- migrate:up\nCREATE TABLE half (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n\n-- migrate:down\n' });
    expect(r.status, r.output).not.toBe(0);
    expect(read('dbmate', file)).toMatchObject({ applied: [dbmateVersion(1), dbmateVersion(2)], problem: null });
    expect(schemaGap('dbmate', file, 2)).toEqual([]);
  });

  it('golang-migrate: a failed migration stays dirty', () => {
    const file = freshFile('golang-dirty', 3);
    makeGolangMigrate(file, 3, { at: 3 });
    const h = read('golang-migrate', file);
    expect(h).toMatchObject({ version: 3, locked: false });
    expect(h.problem).toMatch(/golang-migrate table "schema_migrations" records version 3 as dirty/);
  });

  it('sqlx: a failed migration run outside a transaction stays success = false', () => {
    const file = freshFile('sqlx-dirty', 3);
    makeSqlx(file, 3, { at: 3 });
    const h = read('sqlx', file);
    expect(h).toMatchObject({ applied: ['1', '2'], version: 2 });
    expect(h.problem).toMatch(/sqlx table "_sqlx_migrations" records version 3 \(tag colors\) with success = false/);
  });

  it('prisma: a failed migration is unfinished; once marked rolled back and applied again it is clean', () => {
    const failed = freshFile('prisma-failed', 3);
    makePrisma(failed, 3, { fail: { at: 3 } });
    const h = read('prisma', failed);
    expect(h.applied).toEqual([prismaName(1), prismaName(2)]);
    expect(h.problem).toMatch(new RegExp(`prisma table "_prisma_migrations" records migration "${prismaName(3)}" as started but not finished`));
    const resolved = freshFile('prisma-rolled-back', 3);
    makePrisma(resolved, 3, { fail: { at: 2, rolledBack: true } });
    expect(read('prisma', resolved)).toMatchObject({ applied: upTo(3).map(prismaName), problem: null });
    expect(schemaGap('prisma', resolved, 3)).toEqual([]);
  });

  it('flyway: a failed non-transactional migration is success = 0', () => {
    const file = freshFile('flyway-failed', 3);
    makeFlyway(file, 3, { at: 3 });
    const h = read('flyway', file);
    expect(h).toMatchObject({ applied: ['1', '2'], version: 2 });
    expect(h.problem).toContain(`flyway table "flyway_schema_history" records version 3 (${flywayScript(3)}, installed_rank 3) with success = 0`);
  });
});

// ---------------------------------------------------------------------------------------------
// Classification and adoption of the tools' files (the `legacy.history` half of issue 12).

const check = (s: Store, d: string) => reconcileStore(s, d, { mode: 'check' });
const up = (s: Store, d: string) => reconcileStore(s, d, { mode: 'up' });
const adopt = (s: Store, d: string) => reconcileStore(s, d, { mode: 'adopt' });

const tablesOf = (file: string): string[] => query<{ name: string }>(file, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").map((r) => r.name);

/** `file`'s schema against the store's baseline, by meaning (no difference expected). */
function baselineGap(s: Store, file: string): string[] {
  const ours = new Database(':memory:');
  const db = new Database(file, { readonly: true });
  try {
    ours.exec(s.schema);
    return diff(inspect(ours), inspect(db)).map(describeChange);
  } finally {
    ours.close();
    db.close();
  }
}

/** Every row of `before` is in `after`, same rowid, same value in every column it had. */
function expectRowsKept(before: Record<string, Record<string, unknown>[]>, after: Record<string, Record<string, unknown>[]>, skip: readonly string[]): void {
  for (const [table, rows] of Object.entries(before)) {
    if (skip.includes(table)) continue;
    expect(after[table], `table ${table} kept`).toBeDefined();
    expect(after[table]!.length, `rows of ${table}`).toBe(rows.length);
    rows.forEach((row, i) => expect(after[table]![i], `${table} row ${i}`).toMatchObject(row));
  }
}

/** check, up, adopt all refuse with `status`; the file's bytes and its folder are as they were. */
function expectRefusedUntouched(s: Store, file: string, status: string): string {
  const d = path.dirname(file);
  const before = fingerprint(file);
  const listing = fs.readdirSync(d).sort();
  const c = check(s, d);
  expect(c.status, c.message).toBe(status);
  const u = up(s, d);
  expect(u, u.message).toMatchObject({ status, action: 'refused' });
  expect(adopt(s, d).action).toBe('refused');
  expect(fingerprint(file)).toEqual(before);
  expect(fs.readdirSync(d).sort()).toEqual(listing);
  return u.message;
}

/** `up` adopts `file` (found at version `v`): rows kept, baseline schema, bookkeeping gone after a backup, stamped. */
function expectAdopted(s: Store, file: string, v: number, bookkeeping: readonly string[]): void {
  const d = path.dirname(file);
  const rows = allRows(file);
  const c = check(s, d);
  expect(c.status, c.message).toBe('legacy');
  const r = up(s, d);
  expect(r.action, r.message).toBe('adopted');
  expect(r.to).toBe(s.version);
  expect(userVersion(file)).toBe(s.version);
  for (const t of bookkeeping) expect(tablesOf(file)).not.toContain(t);
  expect(baselineGap(s, file)).toEqual([]);
  expectRowsKept(rows, allRows(file), bookkeeping);
  // The backup is the file as the tool left it: its bookkeeping and rows.
  expect(r.backup, `a backup before dropping ${bookkeeping.join(', ')}`).toBeTruthy();
  const kept = tablesOf(r.backup!);
  for (const t of bookkeeping.filter((t) => rows[t] !== undefined)) expect(kept).toContain(t);
  expect(allRows(r.backup!)).toEqual(rows);
  expect(check(s, d).status, `at ${v}, then current`).toBe('current');
}

/** The bookkeeping tables a tool's file really holds (TypeORM's typeorm_metadata only with views). */
const bookkeepingOf = (tool: ToolName, file: string): string[] => PRESETS[tool].tables.filter((t) => tablesOf(file).includes(t));

describe('legacy.history: every tool\'s file at every version is adopted, every row kept', () => {
  for (const tool of TOOL_NAMES) {
    it(`${tool}: versions 1, 2 and 3 are legacy; up adopts each to the baseline`, async () => {
      const s = notesStore({ history: [{ tool }] });
      for (const v of [1, 2, 3]) {
        const file = await toolFile(tool, v);
        expectAdopted(s, file, v, bookkeepingOf(tool, file));
      }
    });

    it(`${tool}: a file at version 4 is too-new, untouched, the message naming ${tool}`, async () => {
      const s = notesStore({ history: [{ tool }] });
      const file = await toolFile(tool, 4);
      const message = expectRefusedUntouched(s, file, 'too-new');
      expect(message).toContain(tool);
    });
  }

  it('a file the tool set up but never migrated (drizzle, Kysely, knex, TypeORM at 0) is too-old, untouched', async () => {
    for (const tool of ['drizzle', 'kysely', 'knex', 'typeorm'] as const) {
      const file = freshFile(`${tool}-empty`, 0);
      await TOOLS[tool].make(file, 0);
      expect(read(tool, file).applied).toEqual([]);
      const message = expectRefusedUntouched(notesStore({ history: [{ tool }] }), file, 'too-old');
      for (const part of [tool, PRESETS[tool].marker]) expect(message).toContain(part);
    }
  });

  it('dbmate with a map from its timestamps to our versions: legacy at the mapped version; an unknown version is drift', async () => {
    const map = { [dbmateVersion(1)]: 1, [dbmateVersion(2)]: 2, [dbmateVersion(3)]: 3 };
    const file = await toolFile('dbmate', 2);
    expectAdopted(notesStore({ history: [{ tool: 'dbmate', map }] }), file, 2, ['schema_migrations']);
    const unknown = await toolFile('dbmate', 2);
    const { [dbmateVersion(2)]: _dropped, ...partial } = map;
    const message = expectRefusedUntouched(notesStore({ history: [{ tool: 'dbmate', map: partial }] }), unknown, 'drift');
    for (const part of ['dbmate', 'schema_migrations', dbmateVersion(2)]) expect(message).toContain(part);
  });

  it('knex: the lock a crashed run left held makes the file locked, untouched', async () => {
    const file = freshFile('knex-crashed', 2);
    const crashed = path.join(dir, `knex-crashed-${++serial}`, 'notes.db');
    fs.mkdirSync(path.dirname(crashed));
    await makeKnex(file, 2, { disableTransactions: true, during: { version: 2, run: () => fs.copyFileSync(file, crashed) } });
    const message = expectRefusedUntouched(notesStore({ history: [{ tool: 'knex' }] }), crashed, 'locked');
    for (const part of ['knex', 'knex_migrations_lock']) expect(message).toContain(part);
  });

  const failures: [ToolName, (file: string) => void, string, string, string][] = [
    ['golang-migrate', (f) => makeGolangMigrate(f, 3, { at: 3 }), 'schema_migrations', 'version 3', 'dirty'],
    ['sqlx', (f) => makeSqlx(f, 3, { at: 3 }), '_sqlx_migrations', 'version 3', 'success = false'],
    ['prisma', (f) => makePrisma(f, 3, { fail: { at: 3 } }), '_prisma_migrations', prismaName(3), 'not finished'],
    ['flyway', (f) => makeFlyway(f, 3, { at: 3 }), 'flyway_schema_history', flywayScript(3), 'success = 0'],
  ];
  for (const [tool, make, table, entry, what] of failures) {
    it(`${tool}: a failed or dirty migration is drift, untouched, the message naming the tool, ${table}, the entry and what it records`, () => {
      const file = freshFile(`${tool}-failed`, 3);
      make(file);
      const message = expectRefusedUntouched(notesStore({ history: [{ tool }] }), file, 'drift');
      for (const part of [tool, table, entry, what]) expect(message).toContain(part);
    });
  }

  it('typeorm with a view entity also keeps typeorm_metadata (made by TypeORM): both go on adoption', async () => {
    const file = freshFile('typeorm-view', 2);
    await makeTypeorm(file, 2, { viewEntity: true });
    const db = new Database(file);
    db.exec(rowsAt(2));
    db.close();
    expect(tablesOf(file)).toContain('typeorm_metadata');
    expectAdopted(notesStore({ history: [{ tool: 'typeorm' }] }), file, 2, ['migrations', 'typeorm_metadata']);
  });

  it("typeorm (transaction 'none'): a migration that failed half-way is not in its log; the half it ran is drift, named", async () => {
    const file = freshFile('typeorm-half', 3);
    await makeTypeorm(file, 3, { fail: { at: 3 } });
    expect(read('typeorm', file).applied).toEqual([typeormName(1), typeormName(2)]);
    const message = expectRefusedUntouched(notesStore({ history: [{ tool: 'typeorm' }] }), file, 'drift');
    expect(message).toContain('note_title');
  });

  it('dbmate (transaction:false): a migration that failed half-way is not recorded; the half it ran is drift, named', async () => {
    const file = freshFile('dbmate-half', 3);
    const r = runDbmate(file, 2, { name: `${dbmateVersion(3)}_${'tag_colors'}.sql`, sql: `-- migrate:up transaction:false\n${STEPS[2]![0]!};\nINSERT INTO no_such_table VALUES (1);\n\n-- migrate:down\n` });
    expect(r.status, r.output).not.toBe(0);
    expect(read('dbmate', file).applied).toEqual([dbmateVersion(1), dbmateVersion(2)]);
    const message = expectRefusedUntouched(notesStore({ history: [{ tool: 'dbmate' }] }), file, 'drift');
    expect(message).toContain('note_title');
  });

  it('flyway: a version applied out of order (-outOfOrder) does not lower the version: legacy at 3, adopted', () => {
    const file = freshFile('flyway-out-of-order', 3);
    makeFlyway(file, 3, undefined, [1, 3, 2]);
    const db = new Database(file);
    db.exec(rowsAt(3));
    db.close();
    expect(read('flyway', file)).toMatchObject({ applied: ['1', '3', '2'], version: 3, current: '3' });
    expectAdopted(notesStore({ history: [{ tool: 'flyway' }] }), file, 3, ['flyway_schema_history']);
  });

  it('prisma: a migration marked rolled back and applied again adopts', () => {
    const file = freshFile('prisma-resolved', 3);
    makePrisma(file, 3, { fail: { at: 2, rolledBack: true } });
    expectAdopted(notesStore({ history: [{ tool: 'prisma' }] }), file, 3, ['_prisma_migrations']);
  });

  it('a file whose schema is not its history\'s version is drift, with the difference (dbmate at 2, one v3 step run by hand)', async () => {
    const file = await toolFile('dbmate', 2);
    const db = new Database(file);
    db.exec(STEPS[2]![0]!);
    db.close();
    const message = expectRefusedUntouched(notesStore({ history: [{ tool: 'dbmate' }] }), file, 'drift');
    expect(message).toContain('note_title');
  });

  it('two histories that disagree are drift: a drizzle file at 2 that also holds a schema_version saying 3', async () => {
    const file = await toolFile('drizzle', 2);
    const db = new Database(file);
    db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (3);');
    db.close();
    const s = notesStore({ history: [{ tool: 'drizzle' }, { table: 'schema_version', version: 'SELECT max(version) FROM schema_version' }] });
    const message = expectRefusedUntouched(s, file, 'drift');
    for (const part of ['drizzle', 'schema_version']) expect(message).toContain(part);
  });
});

describe('worked cases from the seeds', () => {
  it("a daemon's schema_version table (custom entry) at an intermediate version: legacy at 2, adopted to 3", () => {
    const file = freshFile('daemon', 2);
    const db = new Database(file);
    db.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    for (const v of [1, 2]) {
      db.exec(sqlOf(v));
      db.prepare('INSERT INTO schema_version VALUES (?, ?)').run(v, `2026-0${v}-01T00:00:00Z`);
    }
    db.exec(rowsAt(2));
    db.close();
    const s = notesStore({ history: [{ table: 'schema_version', version: 'SELECT max(version) FROM schema_version' }] });
    expectAdopted(s, file, 2, ['schema_version']);
  });

  /** The relay: 002_plan_schema.sql drops two columns and a table, so our migration 002 declares it. */
  const RELAY_001 = `CREATE TABLE peer (id TEXT PRIMARY KEY, addr TEXT NOT NULL, last_seen INTEGER, legacy_token TEXT, legacy_flags INTEGER);
CREATE TABLE message (id INTEGER PRIMARY KEY, peer_id TEXT NOT NULL REFERENCES peer(id), body BLOB NOT NULL);
CREATE TABLE plan_draft (id INTEGER PRIMARY KEY, peer_id TEXT, json TEXT);`;
  const RELAY_002 = `ALTER TABLE peer DROP COLUMN legacy_token;
ALTER TABLE peer DROP COLUMN legacy_flags;
DROP TABLE plan_draft;
CREATE TABLE plan (id INTEGER PRIMARY KEY, peer_id TEXT NOT NULL REFERENCES peer(id), steps TEXT NOT NULL DEFAULT '[]');`;
  const RELAY_ROWS = `INSERT INTO peer VALUES ('p1', '10.0.0.1:7000', 100, 'tok', 3), ('p2', '10.0.0.2:7000', NULL, NULL, 0);
INSERT INTO message VALUES (1, 'p1', x'00ff'), (2, 'p2', x'0102');`;
  const relayHistory = { table: '_migrations', version: "SELECT max(CAST(substr(name, 1, 3) AS INTEGER)) FROM _migrations WHERE name GLOB '[0-9][0-9][0-9]_*.sql'" };
  function relayStore(declared = true): Store {
    const schema = `CREATE TABLE peer (id TEXT PRIMARY KEY, addr TEXT NOT NULL, last_seen INTEGER);
CREATE TABLE message (id INTEGER PRIMARY KEY, peer_id TEXT NOT NULL REFERENCES peer(id), body BLOB NOT NULL);
CREATE TABLE plan (id INTEGER PRIMARY KEY, peer_id TEXT NOT NULL REFERENCES peer(id), steps TEXT NOT NULL DEFAULT '[]');`;
    const step = { version: 2, name: '002_plan_schema.sql', sql: RELAY_002, ...(declared ? { destructive: 'peer.legacy_token, peer.legacy_flags and plan_draft are read by nobody since the plan schema' } : {}) };
    return createRegistry([{ name: 'relay', file: 'notes.db', version: 2, minVersion: 1, schema, oldestSchema: RELAY_001, migrations: [step], legacy: { history: [relayHistory] } }]).stores[0]!;
  }
  /** A relay file kept by the relay's own runner, with files 001..upTo applied. */
  function relayFile(upTo: number): string {
    const file = freshFile('relay', upTo);
    const db = new Database(file);
    db.exec("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (datetime('now')))");
    db.exec(RELAY_001);
    db.exec(RELAY_ROWS);
    db.exec("INSERT INTO plan_draft VALUES (1, 'p1', '{\"draft\":true}'); INSERT INTO _migrations (name) VALUES ('001_initial.sql')");
    if (upTo >= 2) db.exec(`${RELAY_002} INSERT INTO plan VALUES (1, 'p1', '["a"]'); INSERT INTO _migrations (name) VALUES ('002_plan_schema.sql')`);
    db.close();
    return file;
  }

  it("the relay's _migrations with 002_plan_schema.sql applied: legacy at 2, adopted (its rows, plan included)", () => {
    const file = relayFile(2);
    expectAdopted(relayStore(), file, 2, ['_migrations']);
    expect(query(file, 'SELECT * FROM plan')).toEqual([{ id: 1, peer_id: 'p1', steps: '["a"]' }]);
  });

  it('the relay at 001 only: up runs the declared destructive 002 after a backup that keeps what it drops', () => {
    const file = relayFile(1);
    const d = path.dirname(file);
    expect(check(relayStore(), d).status).toBe('legacy');
    const r = up(relayStore(), d);
    expect(r.action, r.message).toBe('adopted');
    expect(userVersion(file)).toBe(2);
    expect(query(file, 'SELECT * FROM peer ORDER BY id')).toEqual([
      { id: 'p1', addr: '10.0.0.1:7000', last_seen: 100 },
      { id: 'p2', addr: '10.0.0.2:7000', last_seen: null },
    ]);
    expect(query(file, 'SELECT id, hex(body) AS body FROM message ORDER BY id')).toEqual([{ id: 1, body: '00FF' }, { id: 2, body: '0102' }]);
    expect(tablesOf(file)).not.toContain('plan_draft');
    expect(query(r.backup!, 'SELECT legacy_token FROM peer ORDER BY id')).toEqual([{ legacy_token: 'tok' }, { legacy_token: null }]);
    expect(query(r.backup!, 'SELECT json FROM plan_draft')).toEqual([{ json: '{"draft":true}' }]);
    expect(baselineGap(relayStore(), file)).toEqual([]);
  });

  it('the relay at 001 under a store whose 002 does not declare what it destroys: up refuses, untouched, naming the drops', () => {
    const file = relayFile(1);
    const d = path.dirname(file);
    const before = fingerprint(file);
    const r = up(relayStore(false), d);
    expect(r.action, r.message).toBe('refused');
    expect(r.message).toMatch(/without declaring it/);
    expect(r.message).toMatch(/plan_draft|legacy_token|legacy_flags/);
    expect(fingerprint(file)).toEqual(before);
  });
});
