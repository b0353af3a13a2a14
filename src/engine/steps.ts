/**
 * Running one migration step (SQL or JavaScript) on a connection. Shared by registry
 * validation (in memory) and by apply (inside a store's transaction).
 */
import type Database from 'better-sqlite3';
import type { MigrationDefinition } from '../registry/types.js';

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

/** Runs `step` on `db`. Throws {@link StepError} naming the step when it fails. */
export function runStep(db: Database.Database, store: string, step: MigrationDefinition): void {
  try {
    if (step.sql !== undefined) {
      db.exec(step.sql);
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
