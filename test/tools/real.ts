/**
 * Files made by the migration tools themselves, installed from the npm registry: drizzle-orm's
 * migrator, Kysely's Migrator, knex, TypeORM and dbmate's npm binary. Each maker hands the tool
 * the `notes` steps of versions 1..upTo as that tool's own migrations, lets the tool run them
 * against a new file, and returns. Nothing here writes a bookkeeping row by hand.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate as drizzleMigrate } from 'drizzle-orm/better-sqlite3/migrator';
import { Kysely, Migrator, SqliteDialect, sql, type Migration } from 'kysely';
import knexFactory, { type Knex } from 'knex';
import 'reflect-metadata';
import { DataSource, EntitySchema, type MigrationInterface, type QueryRunner } from 'typeorm';
import { ROOT } from '../helpers.js';
import { NAMES, STEPS } from './notes.js';

const versions = (upTo: number): number[] => Array.from({ length: upTo }, (_, i) => i + 1);

/** drizzle's `created_at` for version v: the journal's `when` (ms since the epoch). */
export const drizzleWhen = (v: number): number => Date.UTC(2026, 0, 1) + v * 60_000;

/** drizzle-kit's folder layout: `meta/_journal.json` and `NNNN_tag.sql` with statement breakpoints. */
function drizzleFolder(dir: string, upTo: number): void {
  fs.mkdirSync(path.join(dir, 'meta'), { recursive: true });
  const entries = versions(upTo).map((v) => ({ idx: v - 1, version: '6', when: drizzleWhen(v), tag: `${String(v - 1).padStart(4, '0')}_${NAMES[v - 1]}`, breakpoints: true }));
  fs.writeFileSync(path.join(dir, 'meta', '_journal.json'), JSON.stringify({ version: '7', dialect: 'sqlite', entries }, null, 2));
  for (const e of entries) fs.writeFileSync(path.join(dir, `${e.tag}.sql`), STEPS[e.idx]!.map((s) => `${s};`).join('\n--> statement-breakpoint\n'));
}

/** drizzle-orm's better-sqlite3 migrator brings `file` to version `upTo`. */
export function makeDrizzle(file: string, upTo: number): void {
  const folder = `${file}.drizzle`;
  drizzleFolder(folder, upTo);
  const db = new Database(file);
  try {
    drizzleMigrate(drizzle(db), { migrationsFolder: folder });
  } finally {
    db.close();
  }
}

/** Kysely's migration names: sortable, as its docs advise. */
export const kyselyName = (v: number): string => `${String(v).padStart(4, '0')}_${NAMES[v - 1]}`;

/** Kysely's Migrator (SqliteDialect over better-sqlite3) brings `file` to `upTo`; `during` runs inside each migration, on its connection. */
export async function makeKysely(file: string, upTo: number, during?: (k: Kysely<unknown>) => Promise<void>): Promise<void> {
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new Database(file) }) });
  try {
    const migrations: Record<string, Migration> = {};
    for (const v of versions(upTo)) {
      migrations[kyselyName(v)] = {
        async up(k) {
          if (during) await during(k);
          for (const s of STEPS[v - 1]!) await sql.raw(s).execute(k);
        },
      };
    }
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    const { error } = await migrator.migrateToLatest();
    if (error) throw error;
  } finally {
    await db.destroy();
  }
}

/** knex's migration names (what its fs source would list: file names). */
export const knexName = (v: number): string => `2026010100000${v}_${NAMES[v - 1]}.js`;

export interface KnexOptions {
  /** knex's `disableTransactions`: each migration runs outside a transaction, the lock committed apart. */
  readonly disableTransactions?: boolean;
  /** Called as migration `v`'s `up` begins, while knex holds its lock (e.g. to copy the file as a crash there would leave it). */
  readonly during?: { readonly version: number; readonly run: () => void };
}

/** knex (client better-sqlite3) with a migration source brings `file` to `upTo`. */
export async function makeKnex(file: string, upTo: number, options: KnexOptions = {}): Promise<void> {
  const knex = knexFactory({ client: 'better-sqlite3', connection: { filename: file }, useNullAsDefault: true });
  try {
    const source: Knex.MigrationSource<number> = {
      getMigrations: async () => versions(upTo),
      getMigrationName: (v) => knexName(v),
      getMigration: async (v) => ({
        async up(k: Knex) {
          if (options.during?.version === v) options.during.run();
          for (const s of STEPS[v - 1]!) await k.raw(s);
        },
        async down() {},
      }),
    };
    await knex.migrate.latest({ migrationSource: source, disableTransactions: options.disableTransactions === true });
  } finally {
    await knex.destroy();
  }
}

/** TypeORM's migration names: class name ending in its 13-digit timestamp. */
export const typeormTimestamp = (v: number): number => 1767225600000 + v;
export const typeormName = (v: number): string => `${NAMES[v - 1]!.replace(/(^|_)(\w)/g, (_m, _u, c: string) => c.toUpperCase())}${typeormTimestamp(v)}`;

function typeormClass(v: number, fails: boolean): new () => MigrationInterface {
  const name = typeormName(v);
  const cls = class implements MigrationInterface {
    name = name;
    async up(q: QueryRunner): Promise<void> {
      for (const s of fails ? STEPS[v - 1]!.slice(0, 1) : STEPS[v - 1]!) await q.query(s);
      if (fails) await q.query('INSERT INTO no_such_table VALUES (1)');
    }
    async down(): Promise<void> {}
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

export interface TypeormOptions {
  /**
   * Declare a view entity (as an EntitySchema: no decorators needed): TypeORM then keeps its
   * `typeorm_metadata` table too (RdbmsSchemaBuilder.createMetadataTableIfNecessary, called by
   * MigrationExecutor before each migration).
   */
  readonly viewEntity?: boolean;
  /** Migration `at` fails after its first statement, run with `transaction: 'none'` (so that statement stays). */
  readonly fail?: { readonly at: number };
}

/** TypeORM's DataSource (type better-sqlite3) runs migrations 1..upTo as classes. */
export async function makeTypeorm(file: string, upTo: number, options: TypeormOptions = {}): Promise<void> {
  const entities = options.viewEntity ? [new EntitySchema({ name: 'NoteTitle', tableName: 'note_titles', type: 'view', expression: 'SELECT id, title FROM note', columns: { id: { type: Number, primary: true }, title: { type: String } } })] : [];
  const migrations = versions(upTo).map((v) => typeormClass(v, options.fail?.at === v));
  const ds = new DataSource({ type: 'better-sqlite3', database: file, entities, migrations, logging: false });
  await ds.initialize();
  try {
    await ds.runMigrations({ transaction: options.fail ? 'none' : 'each' });
  } catch (err) {
    if (!options.fail) throw err;
  } finally {
    await ds.destroy();
  }
}

/** dbmate's version for our version v (its `YYYYMMDDHHMMSS` file prefix). */
export const dbmateVersion = (v: number): string => `2026010100000${v}`;

export const DBMATE = path.join(ROOT, 'node_modules', '.bin', 'dbmate');

/**
 * dbmate's npm binary (`dbmate up`, DATABASE_URL=sqlite:PATH) brings `file` to `upTo`. Each file is
 * in dbmate's format (`-- migrate:up` … `-- migrate:down`); `extra` adds a file after them (e.g. one
 * that fails). Returns dbmate's exit status and output.
 */
export function runDbmate(file: string, upTo: number, extra?: { name: string; sql: string }): { status: number; output: string } {
  const dir = `${file}.dbmate`;
  fs.mkdirSync(dir, { recursive: true });
  for (const v of versions(upTo)) {
    fs.writeFileSync(path.join(dir, `${dbmateVersion(v)}_${NAMES[v - 1]}.sql`), `-- migrate:up\n${STEPS[v - 1]!.map((s) => `${s};`).join('\n')}\n\n-- migrate:down\n`);
  }
  if (extra) fs.writeFileSync(path.join(dir, extra.name), extra.sql);
  // cwd is the file's folder so that dbmate reads no .env of ours.
  const r = spawnSync(DBMATE, ['--no-dump-schema', '--migrations-dir', dir, 'up'], {
    cwd: path.dirname(file),
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', DATABASE_URL: `sqlite:${file}` },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

export function makeDbmate(file: string, upTo: number): void {
  const r = runDbmate(file, upTo);
  if (r.status !== 0) throw new Error(`dbmate up failed (${r.status}): ${r.output}`);
}
