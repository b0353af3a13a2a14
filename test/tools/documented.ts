/**
 * Files as golang-migrate, sqlx, Prisma and Flyway leave them, built from each tool's own table
 * definition and the statements its source runs (none of them installs here from the npm registry
 * or Debian: golang-migrate, sqlx and Flyway are not packaged, and Prisma's engines download from
 * outside the registry). Each maker runs the `notes` steps of versions 1..upTo the way the tool runs a
 * migration and writes its bookkeeping the way the tool's code does, cited per maker:
 *
 * - golang-migrate: `database/sqlite3/sqlite3.go` (github.com/golang-migrate/migrate, v4):
 *   `ensureVersionTable` creates `schema_migrations (version uint64,dirty bool)` and the unique index
 *   `version_unique`; `SetVersion` deletes every row and inserts `(version, dirty)` in a transaction;
 *   `Run` wraps the migration in a transaction. `migrate.go` `runMigrations` calls
 *   `SetVersion(migr.TargetVersion, true)` before running a migration and `SetVersion(…, false)` after
 *   it succeeds: a failed migration leaves its version with `dirty = 1`.
 * - sqlx: `sqlx-sqlite/src/migrate.rs` (github.com/launchbadge/sqlx): `ensure_migrations_table`
 *   creates `_sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on
 *   TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL,
 *   execution_time BIGINT NOT NULL)`; `apply` runs the script and inserts `(version, description,
 *   TRUE, checksum, -1)` in one transaction, then updates `execution_time`; `dirty_version` is
 *   `SELECT version … WHERE success = false`, which `migrate run` refuses (`MigrateError::Dirty`).
 *   A `success = false` row is what sqlx's `start_migration` writes before a migration run outside a
 *   transaction (sqlx 0.6's drivers, and its postgres driver for `-- no-transaction` scripts) when
 *   that migration then fails.
 * - Prisma: `schema-engine/connectors/sql-schema-connector/src/flavour/sqlite.rs`
 *   (github.com/prisma/prisma-engines) `create_migrations_table` creates `_prisma_migrations`;
 *   `apply_migrations` records a row when a migration starts (`started_at`), the failure's `logs`
 *   (`record_failed_step`) or `finished_at` and `applied_steps_count` on success;
 *   `detect_failed_migrations` refuses rows with neither `finished_at` nor `rolled_back_at` (P3009);
 *   `mark_migration_rolled_back` (`prisma migrate resolve --rolled-back`) sets `rolled_back_at` on
 *   such a row, after which `migrate deploy` applies the migration again under a new row.
 * - Flyway: `flyway-core/src/main/resources/org/flywaydb/core/internal/database/sqlite/
 *   createMetaDataTable.sql` (github.com/flyway/flyway) creates `flyway_schema_history` and its
 *   index `flyway_schema_history_s_idx`; `DbMigrate.java` adds a row with `success = true` after
 *   each migration, and on a failure adds one with `success = false` only when the migration ran
 *   outside a transaction (`executeInTransaction=false`): otherwise the transaction rolls back and
 *   nothing is recorded. SQLite's `doGetCurrentUser` is `""`, so `installed_by` is empty; `checksum`
 *   is a CRC32 of the script.
 */
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import Database from 'better-sqlite3';
import { NAMES, STEPS } from './notes.js';

type DB = Database.Database;

const runSteps = (db: DB, v: number): void => {
  for (const s of STEPS[v - 1]!) db.exec(s);
};
const script = (v: number): string => STEPS[v - 1]!.map((s) => `${s};`).join('\n');
const BROKEN = 'INSERT INTO no_such_table VALUES (1)';

function withDb(file: string, fn: (db: DB) => void): void {
  const db = new Database(file);
  try {
    fn(db);
  } finally {
    db.close();
  }
}

export interface Failure {
  /** The migration (our version number) that fails: its first statement runs, then it breaks. */
  readonly at: number;
}

/** golang-migrate (sqlite3 driver) brings the file to `upTo`; with `fail`, migration `fail.at` fails and stays dirty. */
export function makeGolangMigrate(file: string, upTo: number, fail?: Failure): void {
  withDb(file, (db) => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool);\n  CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version);');
    const setVersion = db.transaction((version: number, dirty: boolean) => {
      db.exec('DELETE FROM schema_migrations');
      db.prepare('INSERT INTO schema_migrations (version, dirty) VALUES (?, ?)').run(version, dirty ? 1 : 0);
    });
    const last = fail ? fail.at : upTo;
    for (let v = 1; v <= last; v++) {
      setVersion(v, true);
      if (fail?.at === v) {
        try {
          db.transaction(() => {
            db.exec(STEPS[v - 1]![0]!);
            db.exec(BROKEN);
          })();
        } catch {
          return; // Run returned the error: the version stays dirty
        }
      }
      db.transaction(() => runSteps(db, v))();
      setVersion(v, false);
    }
  });
}

/** sqlx's version for our version v: the file `000v_name.sql` has version v. */
export function makeSqlx(file: string, upTo: number, fail?: Failure): void {
  withDb(file, (db) => {
    db.exec(`CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
);`);
    const description = (v: number) => NAMES[v - 1]!.replaceAll('_', ' ');
    const checksum = (v: number) => crypto.createHash('sha384').update(script(v)).digest();
    const last = fail ? fail.at : upTo;
    for (let v = 1; v <= last; v++) {
      if (fail?.at === v) {
        // start_migration, then the script outside a transaction: its first statement lands, the next fails.
        db.prepare('INSERT INTO _sqlx_migrations ( version, description, success, checksum, execution_time ) VALUES ( ?, ?, FALSE, ?, -1 )').run(v, description(v), checksum(v));
        db.exec(STEPS[v - 1]![0]!);
        try {
          db.exec(BROKEN);
        } catch {
          return;
        }
      }
      db.transaction(() => {
        runSteps(db, v);
        db.prepare('INSERT INTO _sqlx_migrations ( version, description, success, checksum, execution_time ) VALUES ( ?, ?, TRUE, ?, -1 )').run(v, description(v), checksum(v));
      })();
      db.prepare('UPDATE _sqlx_migrations SET execution_time = ? WHERE version = ?').run(1_000_000 + v, v);
    }
  });
}

/** Prisma's migration name for our version v (its `migrations/<timestamp>_<name>/` folder). */
export const prismaName = (v: number): string => `2026010100000${v}_${NAMES[v - 1]}`;

export interface PrismaOptions {
  /** Migration `at` fails (its row unfinished, with logs); with `rolledBack` it is then marked rolled back and applied again. */
  readonly fail?: Failure & { readonly rolledBack?: boolean };
}

/** Prisma's `migrate deploy` brings the file to `upTo`. */
export function makePrisma(file: string, upTo: number, options: PrismaOptions = {}): void {
  withDb(file, (db) => {
    db.exec(`CREATE TABLE "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
);`);
    let clock = Date.UTC(2026, 1, 1);
    const at = () => new Date((clock += 1000)).toISOString();
    const start = (v: number): string => {
      const id = crypto.randomUUID();
      db.prepare('INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at) VALUES (?, ?, ?, ?)').run(id, crypto.createHash('sha256').update(script(v)).digest('hex'), prismaName(v), at());
      return id;
    };
    const apply = (v: number) => {
      const id = start(v);
      db.transaction(() => runSteps(db, v))();
      db.prepare('UPDATE _prisma_migrations SET applied_steps_count = applied_steps_count + 1 WHERE id = ?').run(id);
      db.prepare('UPDATE _prisma_migrations SET finished_at = ? WHERE id = ?').run(at(), id);
    };
    const fail = options.fail;
    for (let v = 1; v <= upTo; v++) {
      if (fail?.at === v) {
        const id = start(v);
        let logs = '';
        try {
          db.transaction(() => {
            db.exec(STEPS[v - 1]![0]!);
            db.exec(BROKEN);
          })();
        } catch (err) {
          logs = `Database error: ${(err as Error).message}`;
        }
        db.prepare('UPDATE _prisma_migrations SET logs = ? WHERE id = ?').run(logs, id);
        if (!fail.rolledBack) return;
        db.prepare('UPDATE _prisma_migrations SET rolled_back_at = ? WHERE id = ?').run(at(), id);
      }
      apply(v);
    }
  });
}

/** Flyway's script name for our version v. */
export const flywayScript = (v: number): string => `V${v}__${NAMES[v - 1]}.sql`;

/**
 * Flyway's `migrate` brings the file to `upTo`; with `fail`, migration `fail.at` (non-transactional)
 * fails half-way; with `order`, the versions are applied in that order (`-outOfOrder=true` applies a
 * lower version found after a higher one; its `installed_rank` is then the later one).
 */
export function makeFlyway(file: string, upTo: number, fail?: Failure, order?: readonly number[]): void {
  withDb(file, (db) => {
    db.exec(`CREATE TABLE "main"."flyway_schema_history" (
    "installed_rank" INT NOT NULL PRIMARY KEY,
    "version" VARCHAR(50),
    "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "script" VARCHAR(1000) NOT NULL,
    "checksum" INT,
    "installed_by" VARCHAR(100) NOT NULL,
    "installed_on" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')),
    "execution_time" INT NOT NULL,
    "success" BOOLEAN NOT NULL
);
CREATE INDEX "main"."flyway_schema_history_s_idx" ON "flyway_schema_history" ("success");`);
    let rank = 0;
    const add = (v: number, success: boolean) =>
      db
        .prepare('INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(++rank, String(v), NAMES[v - 1]!.replaceAll('_', ' '), 'SQL', flywayScript(v), zlib.crc32(script(v)) | 0, '', 3, success ? 1 : 0);
    const last = fail ? fail.at : upTo;
    for (const v of order ?? Array.from({ length: last }, (_, i) => i + 1)) {
      if (fail?.at === v) {
        db.exec(STEPS[v - 1]![0]!);
        try {
          db.exec(BROKEN);
        } catch {
          add(v, false);
          return;
        }
      }
      db.transaction(() => {
        runSteps(db, v);
        add(v, true);
      })();
    }
  });
}
