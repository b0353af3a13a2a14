/**
 * Running one migration step (SQL or JavaScript) on a connection. Shared by registry
 * validation (in memory) and by apply (inside a store's transaction).
 */
import type Database from 'better-sqlite3';
import type { MigrationDefinition } from '../types.js';
import { parseMigration, rebuildTable } from './rebuild.js';

export class StepError extends Error {
  override readonly name = 'StepError';
  constructor(
    readonly step: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Runs `step` on `db` as the engine does: inside a transaction with foreign keys off. When the
 * caller holds no transaction (registry validation, `verify`, tests), one is opened around the
 * step and foreign keys are switched off for its duration. Throws {@link StepError} naming the
 * step when it fails (and rolls back the transaction it opened).
 */
export function runStep(db: Database.Database, store: string, step: MigrationDefinition): void {
  if (db.inTransaction) return runInTransaction(db, store, step);
  const fk = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  db.exec('BEGIN');
  try {
    runInTransaction(db, store, step);
    db.exec('COMMIT');
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
    if (fk) db.pragma('foreign_keys = ON');
  }
}

function runInTransaction(db: Database.Database, store: string, step: MigrationDefinition): void {
  try {
    if (step.sql !== undefined) {
      for (const part of parseMigration(step.sql)) {
        if (part.kind === 'sql') db.exec(part.sql);
        else rebuildTable(db, part);
      }
      return;
    }
    if (step.run) {
      const result: unknown = step.run(db, { store, version: step.version });
      if (result && typeof (result as { then?: unknown }).then === 'function') {
        throw new Error('the step returned a Promise; migration steps run inside a transaction and must be synchronous');
      }
      return;
    }
    throw new Error('the step has neither SQL nor a function');
  } catch (err) {
    if (err instanceof StepError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw new StepError(step.name, `migration ${step.name} failed: ${msg}`, { cause: err });
  }
}
