/**
 * The D1 driver: the engine's driver interface (src/engine/driver.ts) over a D1 binding. Its
 * look reads the database in one or two batches and asks SQLite on a replica of the schema in
 * memory (look.ts); its plan is the engine's, as statements rehearsed on that replica
 * (translate.ts); its commit is one atomic batch with the verification inside it, through guards
 * (batch.ts). `legacy_alter_table` is reset after every batch, failed or not.
 */
import type { Driver } from '../engine/driver.js';
import { quoteIdent } from '../sql/tokens.js';
import { lookD1, type D1Look } from './look.js';
import { batchSql, failedGuard, GUARDS, tablesOf } from './batch.js';
import { translate } from './translate.js';
import type { D1Like } from './types.js';

/** A plan made ready for a batch: its statements (run on the replica), and the tables before them. */
interface Prepared {
  readonly statements: readonly string[];
  readonly tablesBefore: readonly string[];
}

export const d1Driver: Driver<D1Like, D1Look, Prepared> = {
  look: lookD1,

  prepare(look, store, id, plan) {
    const tablesBefore = tablesOf(look.replica!);
    return { statements: translate(look.replica!, store, id, plan), tablesBefore };
  },

  async commit(d1, look, store, id, plan, prepared, at) {
    const sql = batchSql({ look, store, plan, statements: prepared.statements, tablesBefore: prepared.tablesBefore, at });
    try {
      await d1.batch(sql.map((s) => d1.prepare(s)));
      return { kind: 'committed' };
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      const g = failedGuard(message);
      if (g === GUARDS.version || g === GUARDS.before) return { kind: 'changed' };
      const reason = g
        ? `${id}: guard failed: ${g.replace(/^stores: /, '')}; D1 rolled the whole batch back, nothing changed`
        : `${id}: D1 refused the batch (${message}); D1 rolled the whole batch back, nothing changed`;
      return { kind: 'failed', reason };
    } finally {
      await resetLegacyAlter(d1);
    }
  },

  async count(d1, tables) {
    const counts: Record<string, number | null> = {};
    for (const t of tables) {
      try {
        counts[t] = Number(((await d1.prepare(`SELECT count(*) AS n FROM ${quoteIdent(t)}`).first()) as { n: number }).n);
      } catch {
        counts[t] = null; // the table appears only in an earlier step of the plan
      }
    }
    return counts;
  },

  release(look) {
    look.replica?.close();
  },
};

/**
 * `legacy_alter_table` is a setting of D1's connection: a rebuild's batch turns it on and off,
 * but a batch that fails in between leaves it on for every later call. Turned off after every
 * batch, failed or not.
 */
export async function resetLegacyAlter(d1: D1Like): Promise<void> {
  try {
    await d1.prepare('PRAGMA legacy_alter_table = OFF').run();
  } catch {
    // Unreachable: the next batch of ours turns it off before any rename anyway.
  }
}
