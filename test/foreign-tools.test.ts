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
import { describe, expect, it } from 'vitest';
import { PRESETS, TOOL_NAMES, type HistoryRead, type ToolName } from '../src/engine/history-presets.js';
import { inspect } from '../src/schema/inspect.js';
import { diff, describeChange } from '../src/schema/diff.js';
import { tmpDir } from './helpers.js';
import { dbmateVersion, drizzleWhen, knexName, kyselyName, makeDbmate, makeDrizzle, makeKnex, makeKysely, makeTypeorm, runDbmate, typeormName } from './tools/real.js';
import { flywayScript, makeFlyway, makeGolangMigrate, makePrisma, makeSqlx, prismaName } from './tools/documented.js';
import { rowsAt, sqlOf } from './tools/notes.js';

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
