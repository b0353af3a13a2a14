/**
 * What other migration tools keep in a SQLite file, and how to read it (`legacy.history` presets).
 *
 * Each preset knows its tool's bookkeeping tables (history and lock), the table whose presence says
 * a file is kept by that tool, and how to read what was applied, what the tool wrote for a failed,
 * unfinished, rolled-back or dirty migration, and whether its lock is held. Everything here is
 * read-only SQL over the open file; nothing is written. A table that is not the tool's shape is an
 * Error naming the table, what was found and what was expected: the file is then not this tool's.
 *
 * Where each definition comes from (the tool's own source, as installed or as published):
 * - drizzle-orm `sqlite-core/dialect.js` `migrate()`: `__drizzle_migrations (id SERIAL PRIMARY KEY,
 *   hash text NOT NULL, created_at numeric)`, one row per applied migration with the journal's
 *   `when` as `created_at`; all pending migrations run in one transaction, so a failure leaves no
 *   row; no lock table.
 * - kysely `migration/migrator.js`: `kysely_migration (name varchar(255) PK, timestamp varchar(255)
 *   NOT NULL)` and `kysely_migration_lock (id varchar(255) PK, is_locked integer NOT NULL DEFAULT 0)`
 *   with the row `id = 'migration_lock'`. Its SQLite adapter takes no lock (`acquireMigrationLock`
 *   is a no-op: one connection), so Kysely's own SQLite runs leave `is_locked` at 0; early Kysely
 *   releases (`tryAcquireLock`) and the D1 / Durable Object dialects set it to 1 while migrating, so
 *   a 1 there is read as held.
 * - knex `migrations/migrate/table-creator.js` and `Migrator.js`: `knex_migrations (id increments,
 *   name varchar(255), batch integer, migration_time datetime)` and `knex_migrations_lock (index
 *   increments, is_locked integer)`; `_lockMigrations` sets `is_locked = 1` while a batch runs and
 *   `_freeLock` sets it back to 0, so a 1 left in a file is a migration that never finished.
 * - typeorm `migration/MigrationExecutor.js` `createMigrationsTableIfNotExist`: `migrations (id
 *   integer PK autoincrement, timestamp bigint NOT NULL, name varchar NOT NULL)`; TypeORM also keeps
 *   `typeorm_metadata` (views, generated columns). No lock table on SQLite.
 * - dbmate `pkg/driver/sqlite/sqlite.go` `CreateMigrationsTable`: `schema_migrations (version
 *   varchar(128) primary key)`, one row per applied migration.
 * - golang-migrate `database/sqlite3/sqlite3.go` `ensureVersionTable`: `schema_migrations (version
 *   uint64, dirty bool)` with `CREATE UNIQUE INDEX version_unique ON schema_migrations (version)`;
 *   `SetVersion` deletes every row and inserts one `(version, dirty)`; `dirty = 1` is a migration
 *   that failed or was interrupted half-way ("Dirty database version N. Fix and force version.").
 * - sqlx `sqlx-sqlite/src/migrate.rs` `ensure_migrations_table`: `_sqlx_migrations (version BIGINT
 *   PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT
 *   CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT
 *   NULL)`; `dirty_version` is the first row with `success = false`, which `migrate run` refuses.
 * - Prisma `schema-engine` sqlite migration persistence: `_prisma_migrations (id TEXT PRIMARY KEY
 *   NOT NULL, checksum TEXT NOT NULL, finished_at DATETIME, migration_name TEXT NOT NULL, logs TEXT,
 *   rolled_back_at DATETIME, started_at DATETIME NOT NULL DEFAULT current_timestamp,
 *   applied_steps_count INTEGER UNSIGNED NOT NULL DEFAULT 0)`; a row with neither `finished_at` nor
 *   `rolled_back_at` is a failed (or unfinished) migration that `migrate deploy` refuses (P3009); a
 *   row with `rolled_back_at` was marked rolled back (`migrate resolve --rolled-back`) and counts as
 *   not applied.
 * - Flyway `SQLiteDatabase.getRawCreateScript`: `flyway_schema_history (installed_rank INT NOT NULL
 *   PRIMARY KEY, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL,
 *   script VARCHAR(1000) NOT NULL, checksum INT, installed_by VARCHAR(100) NOT NULL, installed_on
 *   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')), execution_time INT NOT NULL,
 *   success BOOLEAN NOT NULL)`; `success = 0` is a failed migration (`validate`/`migrate` refuse it
 *   until `repair`); rows of type `SCHEMA`, `DELETE` and repeatable migrations (no version) name no
 *   version.
 */
import type Database from 'better-sqlite3';

export type ToolName = 'drizzle' | 'kysely' | 'knex' | 'typeorm' | 'dbmate' | 'golang-migrate' | 'sqlx' | 'prisma' | 'flyway';

export const TOOL_NAMES: readonly ToolName[] = ['drizzle', 'kysely', 'knex', 'typeorm', 'dbmate', 'golang-migrate', 'sqlx', 'prisma', 'flyway'];

export interface HistoryRead {
  /**
   * The tool's identifiers of applied migrations, in order (drizzle: created_at; knex/kysely/typeorm:
   * name; prisma: migration_name; dbmate/golang-migrate/sqlx/flyway: version). golang-migrate keeps
   * only the current version, so its list has at most one entry.
   */
  readonly applied: readonly string[];
  /** For 'version' tools: the version recorded, when it is an integer; null for 'log' tools. */
  readonly version: number | null;
  /** For 'version' tools: the recorded version as the tool wrote it (the map's key); null otherwise. */
  readonly current: string | null;
  /** A failed/unfinished/rolled-back/dirty entry, for people (names the table and the entry); null when clean. */
  readonly problem: string | null;
  /** The tool's lock is held. */
  readonly locked: boolean;
}

export interface Preset {
  readonly tool: ToolName;
  readonly kind: 'log' | 'version';
  /** Every bookkeeping table (history and lock tables). */
  readonly tables: readonly string[];
  /** The table whose presence says the file is kept by this tool. */
  readonly marker: string;
  /** Read-only SQL; throws a clear Error when the table is not the tool's shape. */
  read(db: Database.Database): HistoryRead;
}

type Row = Record<string, unknown>;

function tableExists(db: Database.Database, table: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(table) !== undefined;
}

function columnsOf(db: Database.Database, table: string): string[] {
  return (db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[]).map((c) => c.name);
}

/** The marker table exists and has the tool's columns; otherwise a clear Error. */
function requireShape(db: Database.Database, tool: ToolName, table: string, expected: readonly string[]): void {
  if (!tableExists(db, table)) {
    throw new Error(`${tool} history: the file has no table "${table}"; expected ${tool}'s table "${table}" (${expected.join(', ')}).`);
  }
  const found = columnsOf(db, table);
  const missing = expected.filter((c) => !found.includes(c));
  if (missing.length > 0) {
    throw new Error(
      `${tool} history: table "${table}" has columns (${found.join(', ')}), not ${tool}'s (${expected.join(', ')}): ` +
        `missing ${missing.join(', ')}. It is not ${tool}'s table; declare it as a custom history entry instead.`,
    );
  }
}

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function text(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (Buffer.isBuffer(v)) return v.toString('hex');
  return String(v);
}

/** An integer version as written ("3", 3, "0003"); null when it is not one. */
function integerVersion(v: string): number | null {
  if (!/^\d+$/.test(v)) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : null;
}

function truthy(v: unknown): boolean {
  if (typeof v === 'number' || typeof v === 'bigint') return Number(v) !== 0;
  if (typeof v === 'string') return v !== '' && v !== '0' && v.toLowerCase() !== 'false' && v.toLowerCase() !== 'f';
  return v !== null && v !== undefined;
}

/** A lock table's `is_locked` column holds a non-zero value (the table may be absent: not held). */
function lockHeld(db: Database.Database, table: string): boolean {
  if (!tableExists(db, table)) return false;
  if (!columnsOf(db, table).includes('is_locked')) return false;
  const rows = db.prepare(`SELECT is_locked FROM ${quote(table)}`).all() as Row[];
  return rows.some((r) => truthy(r['is_locked']));
}

function logRead(applied: string[], problem: string | null = null, locked = false): HistoryRead {
  return { applied, version: null, current: null, problem, locked };
}

function versionRead(applied: string[], current: string | null, problem: string | null, locked = false): HistoryRead {
  return { applied, version: current === null ? null : integerVersion(current), current, problem, locked };
}

/** Flyway's version order: dot- or underscore-separated numeric parts, compared part by part. */
function compareDotted(a: string, b: string): number {
  const pa = a.split(/[._]/).map(Number);
  const pb = b.split(/[._]/).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const drizzle: Preset = {
  tool: 'drizzle',
  kind: 'log',
  tables: ['__drizzle_migrations'],
  marker: '__drizzle_migrations',
  read(db) {
    requireShape(db, 'drizzle', '__drizzle_migrations', ['id', 'hash', 'created_at']);
    // `id SERIAL PRIMARY KEY` is no rowid alias in SQLite: drizzle's ids are NULL, so its own order (created_at) and rowid.
    const rows = db.prepare('SELECT created_at FROM "__drizzle_migrations" ORDER BY created_at, rowid').all() as Row[];
    return logRead(rows.map((r) => text(r['created_at'])));
  },
};

const kysely: Preset = {
  tool: 'kysely',
  kind: 'log',
  tables: ['kysely_migration', 'kysely_migration_lock'],
  marker: 'kysely_migration',
  read(db) {
    requireShape(db, 'kysely', 'kysely_migration', ['name', 'timestamp']);
    // Kysely's own order for executed migrations: by timestamp, then name (Migrator#getExecutedMigrations).
    const rows = db.prepare('SELECT name FROM "kysely_migration" ORDER BY timestamp, name').all() as Row[];
    return logRead(rows.map((r) => text(r['name'])), null, lockHeld(db, 'kysely_migration_lock'));
  },
};

const knex: Preset = {
  tool: 'knex',
  kind: 'log',
  tables: ['knex_migrations', 'knex_migrations_lock'],
  marker: 'knex_migrations',
  read(db) {
    requireShape(db, 'knex', 'knex_migrations', ['id', 'name', 'batch', 'migration_time']);
    const rows = db.prepare('SELECT name FROM "knex_migrations" ORDER BY id').all() as Row[];
    return logRead(rows.map((r) => text(r['name'])), null, lockHeld(db, 'knex_migrations_lock'));
  },
};

const typeorm: Preset = {
  tool: 'typeorm',
  kind: 'log',
  tables: ['migrations', 'typeorm_metadata'],
  marker: 'migrations',
  read(db) {
    requireShape(db, 'typeorm', 'migrations', ['id', 'timestamp', 'name']);
    const rows = db.prepare('SELECT name FROM "migrations" ORDER BY timestamp, id').all() as Row[];
    return logRead(rows.map((r) => text(r['name'])));
  },
};

const dbmate: Preset = {
  tool: 'dbmate',
  kind: 'log',
  tables: ['schema_migrations'],
  marker: 'schema_migrations',
  read(db) {
    requireShape(db, 'dbmate', 'schema_migrations', ['version']);
    const cols = columnsOf(db, 'schema_migrations');
    if (cols.includes('dirty')) {
      throw new Error(
        'dbmate history: table "schema_migrations" has a "dirty" column: that is golang-migrate\'s table, not dbmate\'s (version only). Declare {"tool": "golang-migrate"} instead.',
      );
    }
    // dbmate lists applied versions in ascending order (SelectMigrations: ORDER BY version).
    const rows = db.prepare('SELECT version FROM "schema_migrations" ORDER BY version').all() as Row[];
    return logRead(rows.map((r) => text(r['version'])));
  },
};

const golangMigrate: Preset = {
  tool: 'golang-migrate',
  kind: 'version',
  tables: ['schema_migrations'],
  marker: 'schema_migrations',
  read(db) {
    requireShape(db, 'golang-migrate', 'schema_migrations', ['version', 'dirty']);
    const rows = db.prepare('SELECT version, dirty FROM "schema_migrations"').all() as Row[];
    if (rows.length > 1) {
      return versionRead([], null, `golang-migrate table "schema_migrations" holds ${rows.length} rows; golang-migrate keeps exactly one (its SetVersion replaces the row)`);
    }
    const row = rows[0];
    // No row: golang-migrate's "no migration applied" (NilVersion).
    if (row === undefined) return versionRead([], null, null);
    const current = text(row['version']);
    const problem = truthy(row['dirty'])
      ? `golang-migrate table "schema_migrations" records version ${current} as dirty (dirty = 1): that migration failed or was interrupted half-way, and golang-migrate itself refuses the file until it is fixed and "migrate force" is run`
      : null;
    return versionRead([current], current, problem);
  },
};

const sqlx: Preset = {
  tool: 'sqlx',
  kind: 'version',
  tables: ['_sqlx_migrations'],
  marker: '_sqlx_migrations',
  read(db) {
    requireShape(db, 'sqlx', '_sqlx_migrations', ['version', 'description', 'installed_on', 'success', 'checksum', 'execution_time']);
    const rows = db.prepare('SELECT version, description, success FROM "_sqlx_migrations" ORDER BY version').all() as Row[];
    const failed = rows.find((r) => !truthy(r['success']));
    const ok = rows.filter((r) => truthy(r['success'])).map((r) => text(r['version']));
    const problem =
      failed === undefined
        ? null
        : `sqlx table "_sqlx_migrations" records version ${text(failed['version'])} (${text(failed['description'])}) with success = false: a partially applied (dirty) migration, which sqlx itself refuses to run past`;
    return versionRead(ok, ok.length === 0 ? null : (ok[ok.length - 1] ?? null), problem);
  },
};

const prisma: Preset = {
  tool: 'prisma',
  kind: 'log',
  tables: ['_prisma_migrations'],
  marker: '_prisma_migrations',
  read(db) {
    requireShape(db, 'prisma', '_prisma_migrations', ['id', 'checksum', 'finished_at', 'migration_name', 'logs', 'rolled_back_at', 'started_at', 'applied_steps_count']);
    const rows = db.prepare('SELECT migration_name, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at, rowid').all() as Row[];
    const applied: string[] = [];
    let problem: string | null = null;
    for (const r of rows) {
      const name = text(r['migration_name']);
      if (r['rolled_back_at'] !== null) continue; // marked rolled back: Prisma counts it as not applied
      if (r['finished_at'] === null) {
        problem ??= `prisma table "_prisma_migrations" records migration "${name}" as started but not finished (finished_at and rolled_back_at both NULL): it failed or was interrupted, and "prisma migrate deploy" refuses the file (P3009) until it is resolved`;
        continue;
      }
      applied.push(name);
    }
    return logRead(applied, problem);
  },
};

const flyway: Preset = {
  tool: 'flyway',
  kind: 'version',
  tables: ['flyway_schema_history'],
  marker: 'flyway_schema_history',
  read(db) {
    requireShape(db, 'flyway', 'flyway_schema_history', ['installed_rank', 'version', 'description', 'type', 'script', 'checksum', 'installed_by', 'installed_on', 'execution_time', 'success']);
    const rows = db.prepare('SELECT installed_rank, version, description, type, script, success FROM "flyway_schema_history" ORDER BY installed_rank').all() as Row[];
    const failed = rows.find((r) => !truthy(r['success']));
    const problem =
      failed === undefined
        ? null
        : `flyway table "flyway_schema_history" records ${failed['version'] === null ? 'repeatable migration' : `version ${text(failed['version'])}`} (${text(failed['script'])}, installed_rank ${text(failed['installed_rank'])}) with success = 0: a failed migration, which Flyway itself refuses until "flyway repair"`;
    const versioned = rows.filter((r) => truthy(r['success']) && r['version'] !== null && r['type'] !== 'SCHEMA' && r['type'] !== 'DELETE');
    const applied = versioned.map((r) => text(r['version']));
    // The current version is the highest one applied (out-of-order migrations may come later in rank).
    const current = applied.reduce<string | null>((best, v) => (best === null || compareDotted(v, best) > 0 ? v : best), null);
    return versionRead(applied, current, problem);
  },
};

export const PRESETS: Readonly<Record<ToolName, Preset>> = Object.freeze({
  drizzle,
  kysely,
  knex,
  typeorm,
  dbmate,
  'golang-migrate': golangMigrate,
  sqlx,
  prisma,
  flyway,
});
