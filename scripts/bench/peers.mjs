/**
 * The other tools: the registry's own SQL files driven through Kysely's Migrator, umzug and
 * drizzle-orm's migrator, with the store's connection pragmas, one data dir and one store after
 * another (as they naturally run), as a user of each tool would write it:
 *   - migration 001 creates the oldest schema (versions/001.sql, or schema.sql when the store
 *     has no older version) or, on a file that already has tables, adopts it with the store's
 *     legacy rules (renames, leftover indexes, dead tables — backed up with VACUUM INTO first
 *     when they hold rows — and the oldest schema's missing objects): the same SQL `stores`
 *     runs; then migrations 002…; then seed.sql when anything ran;
 *   - Kysely: Migrator with an in-code provider, SqliteDialect over better-sqlite3, each
 *     statement through sql.raw (better-sqlite3's prepare takes one statement); its own
 *     kysely_migration tables (so its fleets are built by Kysely itself);
 *   - umzug: in-code migrations run with db.exec, and a small storage in PRAGMA user_version
 *     (so it works on exactly the same files as `stores`);
 *   - drizzle: `migrate(db, { migrationsFolder })` from drizzle-orm/better-sqlite3/migrator over
 *     a drizzle-kit style folder generated from the registry's SQL files (meta/_journal.json,
 *     NNNN_name.sql with `--> statement-breakpoint` between statements); its own
 *     __drizzle_migrations table. Its migrations are SQL files only, run unconditionally, so it
 *     cannot express adoption (a rename only when the old table exists, a backup only when a
 *     dead table holds rows): there is no drizzle adopt row.
 */
import fs from 'node:fs';
import path from 'node:path';
import { openWithSettings, q, splitSql, sqlite } from './registry.mjs';

/** The object a CREATE statement makes: { type, name } (null for anything else). */
function createdObject(stmt) {
  const m = /^\s*CREATE\s+(?:UNIQUE\s+)?(?:TEMP(?:ORARY)?\s+)?(TABLE|INDEX|VIEW|TRIGGER)\s+(?:IF\s+NOT\s+EXISTS\s+)?("(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\]|[A-Za-z_][\w$]*)/i.exec(stmt);
  if (!m) return null;
  let name = m[2];
  if (/^["`[]/.test(name)) name = name.slice(1, -1).replace(/""/g, '"');
  return { type: m[1].toLowerCase(), name };
}

/** A consistent copy beside the file before dropping tables that hold rows, as `stores` takes. */
async function backup(file) {
  const Database = await sqlite();
  const target = `${file}.backup-${new Date().toISOString().replace(/[-:.]/g, '')}`;
  const reader = new Database(file, { readonly: true, fileMustExist: true });
  try {
    reader.exec(`VACUUM INTO '${target.replace(/'/g, "''")}.partial'`);
  } finally {
    reader.close();
  }
  fs.renameSync(`${target}.partial`, target);
}

/**
 * Migration 001 of every store for the other tools: on a file without tables, create the oldest
 * schema; on a file with tables (user_version 0: written before versioning), adopt it with the
 * store's legacy rules — the same statements `stores` runs for a legacy file.
 * `db` runs statements: { run(sql), all(sql) } (async for Kysely, sync wrapped for umzug).
 */
export async function createOrAdopt(db, store, file, ignore = () => false) {
  const objects = async () => {
    const rows = await db.all("SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'");
    return new Map(rows.filter((r) => !ignore(r.name)).map((r) => [r.name.toLowerCase(), r.type]));
  };
  let present = await objects();
  if (![...present.values()].includes('table')) {
    for (const s of splitSql(store.oldestSchema)) await db.run(s);
    return;
  }
  for (const r of store.legacy.renames) {
    if (present.has(r.from.toLowerCase()) && !present.has(r.to.toLowerCase())) {
      await db.run(`ALTER TABLE ${q(r.from)} RENAME TO ${q(r.to)}`);
      present = await objects();
    }
  }
  for (const ix of store.legacy.dropIndexes) if (present.get(ix.toLowerCase()) === 'index') await db.run(`DROP INDEX ${q(ix)}`);
  const dead = store.legacy.deadTables.filter((t) => present.get(t.toLowerCase()) === 'table');
  let withRows = false;
  for (const t of dead) if ((await db.all(`SELECT 1 AS x FROM ${q(t)} LIMIT 1`)).length > 0) withRows = true;
  if (withRows) await backup(file);
  for (const t of dead) await db.run(`DROP TABLE ${q(t)}`);
  present = await objects();
  for (const s of splitSql(store.oldestSchema)) {
    const o = createdObject(s);
    if (o && !present.has(o.name.toLowerCase())) await db.run(s);
  }
}

const MIGRATION_001 = '001-create-or-adopt';

/** The migration names of a store for the other tools, in order, with their version. */
export function toolMigrations(store) {
  return [{ name: MIGRATION_001, version: store.minVersion }, ...store.migrations.map((m) => ({ name: m.name, version: m.version, sql: m.sql }))];
}

/** Brings every store of `dir` up with Kysely's Migrator (to the last migration, or to `to`). */
export async function kyselyDir(registry, dir, to = null) {
  const { Kysely, Migrator, SqliteDialect, sql } = await import('kysely');
  fs.mkdirSync(dir, { recursive: true });
  for (const store of registry) {
    const file = path.join(dir, store.file);
    const database = await openWithSettings(file, store);
    const db = new Kysely({ dialect: new SqliteDialect({ database }) });
    try {
      const exec = (kdb) => ({
        run: (s) => sql.raw(s).execute(kdb),
        all: async (s) => (await sql.raw(s).execute(kdb)).rows,
      });
      const migrations = {};
      for (const m of toolMigrations(store)) {
        migrations[m.name] = {
          up: m.sql === undefined
            ? (kdb) => createOrAdopt(exec(kdb), store, file, (n) => n.startsWith('kysely_'))
            : async (kdb) => {
                for (const s of splitSql(m.sql)) await sql.raw(s).execute(kdb);
              },
        };
      }
      const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
      const target = to === null ? null : toolMigrations(store).filter((m) => m.version <= to).at(-1)?.name;
      const { error, results } = target ? await migrator.migrateTo(target) : await migrator.migrateToLatest();
      if (error) throw error;
      if (results.length > 0 && store.seed && to === null) for (const s of splitSql(store.seed)) await sql.raw(s).execute(db);
    } finally {
      await db.destroy();
    }
  }
}

/** Brings every store of `dir` up with umzug, its state in PRAGMA user_version. */
export async function umzugDir(registry, dir) {
  const { Umzug } = await import('umzug');
  fs.mkdirSync(dir, { recursive: true });
  for (const store of registry) {
    const file = path.join(dir, store.file);
    const db = await openWithSettings(file, store);
    try {
      const list = toolMigrations(store);
      const version = new Map(list.map((m) => [m.name, m.version]));
      const sync = { run: (s) => db.exec(s), all: (s) => db.prepare(s).all() };
      const umzug = new Umzug({
        migrations: list.map((m) => ({
          name: m.name,
          up: m.sql === undefined ? () => createOrAdopt(sync, store, file) : async ({ context }) => context.exec(m.sql),
        })),
        context: db,
        storage: {
          executed: async ({ context }) => {
            const uv = context.pragma('user_version', { simple: true });
            return list.filter((m) => m.version <= uv).map((m) => m.name);
          },
          logMigration: async ({ name, context }) => {
            context.pragma(`user_version = ${version.get(name)}`);
          },
          unlogMigration: async ({ name, context }) => {
            context.pragma(`user_version = ${version.get(name) - 1}`);
          },
        },
        logger: undefined,
      });
      const ran = await umzug.up();
      if (ran.length > 0 && store.seed) db.exec(store.seed);
    } finally {
      db.close();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// drizzle-orm
// ---------------------------------------------------------------------------------------------

/** The folder's `when` of a store's migration at `version` (drizzle applies those after the last it recorded). */
const drizzleWhen = (version) => 1_700_000_000_000 + version;

/**
 * Writes, under `base/<store>/`, the drizzle-kit style migrations folder of every store: 0000 the
 * oldest schema, then one file per migration, statements separated by `--> statement-breakpoint`
 * (drizzle runs each through better-sqlite3's prepare: one statement each). With `to`, only the
 * migrations up to that version (how the behind fleets are built by drizzle itself).
 * Returns { store name → folder }.
 */
export function drizzleFolders(registry, base, to = null) {
  const out = {};
  for (const store of registry) {
    const dir = path.join(base, store.name);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, 'meta'), { recursive: true });
    const steps = [{ version: store.minVersion, name: 'oldest-schema', sql: store.oldestSchema }, ...store.migrations].filter((m) => to === null || m.version <= to);
    const entries = steps.map((m, idx) => {
      const tag = `${String(idx).padStart(4, '0')}_${m.name.replace(/^\d+-/, '').replace(/[^A-Za-z0-9]+/g, '_')}`;
      fs.writeFileSync(path.join(dir, `${tag}.sql`), splitSql(m.sql).map((s) => `${s};`).join('\n--> statement-breakpoint\n') + '\n');
      return { idx, version: '6', when: drizzleWhen(m.version), tag, breakpoints: true };
    });
    fs.writeFileSync(path.join(dir, 'meta', '_journal.json'), `${JSON.stringify({ version: '7', dialect: 'sqlite', entries }, null, 2)}\n`);
    out[store.name] = dir;
  }
  return out;
}

/** The number of migrations drizzle recorded in `db` (0 before its first run). */
function drizzleApplied(db) {
  const has = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = '__drizzle_migrations'").get();
  return has ? db.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get().n : 0;
}

/** Brings every store of `dir` up with drizzle's migrator over `folders` (from drizzleFolders); seed.sql when anything ran. */
export async function drizzleDir(registry, dir, folders, seed = true) {
  const { drizzle } = await import('drizzle-orm/better-sqlite3');
  const { migrate } = await import('drizzle-orm/better-sqlite3/migrator');
  fs.mkdirSync(dir, { recursive: true });
  for (const store of registry) {
    const database = await openWithSettings(path.join(dir, store.file), store);
    try {
      const before = drizzleApplied(database);
      migrate(drizzle(database), { migrationsFolder: folders[store.name] });
      if (seed && store.seed && drizzleApplied(database) > before) database.exec(store.seed);
    } finally {
      database.close();
    }
  }
}

/** How many migrations each tool records in a file brought fully up (for validating its fleets). */
export function expectedRecords(store) {
  return toolMigrations(store).length;
}
