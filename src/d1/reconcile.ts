/**
 * One store's D1 database, reconciled: look (lookD1), decide with the engine's own
 * classification and plan, translate the plan into one batch with its guards, send it, render
 * the engine's report entry. Never throws for one database.
 */
import type { Store } from '../types.js';
import type { StoreReport } from '../report.js';
import { isRefusedStatus } from '../report.js';
import { checkedReport, render, type Decision } from '../engine/reconcile.js';
import { plan as makePlan, type Plan } from '../engine/plan.js';
import { VerifyError } from '../engine/apply.js';
import { quoteIdent } from '../sql/tokens.js';
import { lookD1, d1Error, type D1Look } from './look.js';
import { batchSql, failedGuard, GUARDS, tablesOf } from './batch.js';
import { D1Refusal, translate } from './translate.js';
import type { D1Like, D1Options } from './types.js';

type Options = D1Options & { readonly mode: NonNullable<D1Options['mode']> };

function elapsed(t0: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - t0) / 1e4) / 100;
}

/** Reconciles (or checks, or plans) one store's database. `store` names the database (its `file` is `id`). */
export async function reconcileD1Store(store: Store, d1: D1Like, id: string, options: Options): Promise<StoreReport> {
  const t0 = process.hrtime.bigint();
  // Like files: check, adopt and dry runs run quick_check in the look; up runs it as a guard in the batch.
  const integrity = options.mode !== 'up' || options.dryRun === true;
  const look = await lookD1(d1, store, id, integrity);
  try {
    if (options.mode === 'check') return checkedReport(store, id, look.cls, t0);
    return render(store, id, await decide(store, d1, id, look, options, true), t0);
  } catch (err) {
    // Not expected (every step reports its own failure): still one entry, never a throw.
    const e = d1Error(err);
    return { ...checkedReport(store, id, look.cls, t0), status: 'error', action: 'refused', from: look.cls.version, to: look.cls.version, message: `${id}: ${e.code}: ${e.message}; nothing was changed`, ms: elapsed(t0) };
  } finally {
    look.replica?.close();
  }
}

/** What `up`/`adopt` does with a database it looked at (the engine's `decide`, with a batch for the write). */
async function decide(store: Store, d1: D1Like, id: string, look: D1Look, options: Options, retry: boolean): Promise<Decision> {
  const found = look.cls;
  if (found.status === 'current') return { kind: 'unchanged', found };
  if (options.mode === 'adopt' && found.status !== 'legacy') {
    if (isRefusedStatus(found.status)) return { kind: 'refused', found, status: found.status, reason: found.message };
    return { kind: 'unchanged', found, note: 'adopt handles legacy files only; run up' };
  }
  const planned = makePlan(found, store, look.facts, options);
  if ('none' in planned || look.replica === null) return { kind: 'refused', found, status: found.status, reason: 'none' in planned ? planned.reason : found.message };
  const p = planned.plan;
  const tablesBefore = tablesOf(look.replica);
  let statements: string[];
  try {
    statements = translate(look.replica, store, id, p);
  } catch (err) {
    const reason = err instanceof D1Refusal || err instanceof VerifyError ? err.message : `${id}: the plan fails when run on the database's schema in memory: ${(err as Error).message}; nothing was changed`;
    return { kind: 'refused', found, status: found.status, reason };
  }
  if (options.dryRun) return { kind: 'planned', found, plan: p, steps: await stepsReport(d1, p) };
  const sql = batchSql({ look, store, plan: p, statements, tablesBefore, at: (options.now ?? (() => new Date()))() });
  try {
    await d1.batch(sql.map((s) => d1.prepare(s)));
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    const g = failedGuard(message);
    if (retry && (g === GUARDS.version || g === GUARDS.before)) return await again(store, d1, id, look, options);
    const reason = g
      ? `${id}: guard failed: ${g.replace(/^stores: /, '')}; D1 rolled the whole batch back, nothing changed`
      : `${id}: D1 refused the batch (${message}); D1 rolled the whole batch back, nothing changed`;
    return { kind: 'refused', found, status: found.status, reason };
  } finally {
    await resetLegacyAlter(d1);
  }
  return { kind: 'written', found, outcome: { classification: found, facts: look.facts, plan: p, refused: false, backup: null } };
}

/**
 * Another runner wrote the database between the look and the batch: look again, once, and act
 * on what is there now (normally: current, made so by the other runner).
 */
async function again(store: Store, d1: D1Like, id: string, first: D1Look, options: Options): Promise<Decision> {
  const look = await lookD1(d1, store, id, true);
  try {
    if (look.cls.status === 'current') {
      return { kind: 'written', found: first.cls, outcome: { classification: look.cls, facts: look.facts, plan: null, refused: false, backup: null } };
    }
    return await decide(store, d1, id, look, options, false);
  } finally {
    look.replica?.close();
  }
}

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

/** A dry run's steps as reported, with the rows of the tables destructive steps touch (counted on D1). */
async function stepsReport(d1: D1Like, p: Plan): Promise<NonNullable<StoreReport['plan']>> {
  const tables = [...new Set(p.steps.flatMap((s) => s.tables ?? []))];
  const counts: Record<string, number | null> = {};
  for (const t of tables) {
    try {
      counts[t] = Number(((await d1.prepare(`SELECT count(*) AS n FROM ${quoteIdent(t)}`).first()) as { n: number }).n);
    } catch {
      counts[t] = null; // the table appears only in an earlier step of the plan
    }
  }
  return p.steps.map((s) => ({
    kind: s.kind,
    sql: s.sql,
    comment: s.comment,
    source: s.source,
    ...(s.destructive ? { destructive: true } : {}),
    ...(s.tables && s.tables.length > 0 ? { rows: Object.fromEntries(s.tables.map((t) => [t, counts[t] ?? null])) } : {}),
  }));
}
