/**
 * A plan (the engine's, unchanged) as the SQL statements of one D1 batch, worked out by running
 * each statement on the replica as it is produced (foreign keys on, as on D1): a plan that fails
 * fails here, before anything is sent, and the replica ends as the database must end.
 */
import type Database from 'better-sqlite3';
import type { Store } from '../types.js';
import type { Plan } from '../engine/plan.js';
import { parseMigration } from '../engine/rebuild.js';
import { statementRanges } from '../sql/tokens.js';
import { verifyResult } from '../engine/apply.js';
import { renameAway } from './rebuild.js';
import { DriverRefusal } from '../engine/driver.js';


/** The statements of a script, one per entry (comments between statements dropped). */
export function statements(sql: string): string[] {
  return statementRanges(sql).map((s) => s.sql);
}

/**
 * The statements that carry out `p`'s steps (not the stamp: the batch writes the version row),
 * run on `replica` as they are produced; then the engine's own verification on the replica.
 * Throws {@link DriverRefusal} for a JavaScript step, what SQLite throws for a failing statement,
 * and the engine's VerifyError when the steps do not give the schema the version must have.
 */
export function translate(replica: Database.Database, store: Store, id: string, p: Plan): string[] {
  const out: string[] = [];
  const run = (sql: string) => {
    replica.exec(sql);
    out.push(sql);
  };
  replica.pragma('foreign_keys = ON');
  for (const step of p.steps) {
    if (step.kind === 'stamp') continue;
    const m = step.migration;
    if (m && m.sql === undefined) {
      throw new DriverRefusal(
        `${id}: migration ${m.name} is a JavaScript step, and a D1 database is migrated in one batch of SQL statements, which cannot call back into JavaScript; nothing was changed — write that step in SQL (a .sql migration) to migrate D1 databases`,
      );
    }
    if (m) {
      for (const part of parseMigration(m.sql!)) {
        if (part.kind === 'rebuild') renameAway(replica, part, run);
        else for (const s of statements(part.sql)) run(s);
      }
    } else if (step.rebuild) renameAway(replica, step.rebuild, run);
    else for (const s of statements(step.sql)) run(s);
  }
  const what = p.action === 'created' || p.action === 'initialized' ? 'creating it' : p.action === 'adopted' ? 'adoption' : p.action === 'repaired' ? 'repair' : 'migrating';
  verifyResult(replica, store, what, p.action === 'migrated' ? p.from : undefined);
  return out;
}
