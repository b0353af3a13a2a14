/**
 * The pipeline of one store: look (classify once) → decide (plan once) → a Decision, plain data
 * → render. The write under the lock reuses the look's classification and plan unless the file
 * changed meanwhile.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { reconcileConnection } from '../src/engine/apply.js';
import { lookAt } from '../src/engine/look.js';
import { plan as makePlan, type Plan } from '../src/engine/plan.js';
import { decide, render } from '../src/engine/reconcile.js';
import type { Registry } from '../src/types.js';
import { OBJECTS_ROWS_V1, registry, store, tmpDir, userVersion, writeAt } from './helpers.js';

let reg: Registry;
beforeAll(async () => {
  reg = await registry();
});

/** A behind objects.db (v2) looked at through an ordinary connection, with the plan the look makes. */
function behind() {
  const objects = store(reg, 'objects');
  const file = path.join(tmpDir(), 'objects.db');
  writeAt(objects, file, 2, OBJECTS_ROWS_V1);
  const look = lookAt(objects, file);
  const planned = makePlan(look.cls, objects, look.facts, {});
  if (!('plan' in planned)) throw new Error('expected a plan');
  return { objects, file, look, plan: planned.plan as Plan };
}

describe('the pipeline of one store', () => {
  it('decide returns plain data that render turns into the report entry', () => {
    const { objects, file, look } = behind();
    try {
      const d = decide(objects, file, look.cls, look.facts, null, { mode: 'up', dryRun: true });
      expect(d.kind).toBe('planned');
      expect(structuredClone(d)).toEqual(d); // no connection, no function
      const r = render(objects, file, d, process.hrtime.bigint());
      expect(r).toMatchObject({ name: 'objects', status: 'behind', action: 'planned', from: 2, to: objects.version });
    } finally {
      look.db?.close();
    }
  });

  it('the write runs the plan decided at the look: not classified and planned again when nothing changed', () => {
    const { objects, file, look, plan } = behind();
    try {
      // Rows committed by another connection meanwhile change no fact the plan depends on.
      const other = new Database(file);
      other.exec("INSERT INTO db_client VALUES ('c2', 1, '{}')");
      other.close();
      const outcome = reconcileConnection(look.db!, look.facts, objects, {}, { facts: look.facts, classification: look.cls, plan, sameConnection: true });
      expect(outcome.refused).toBe(false);
      expect(outcome.plan).toBe(plan); // the very plan decided, not a new one
    } finally {
      look.db?.close();
    }
    expect(userVersion(file)).toBe(store(reg, 'objects').version);
  });

  it('a file changed meanwhile is classified and planned again under the write lock', () => {
    const { objects, file, look, plan } = behind();
    try {
      // Another process brings it to the target first: under the lock, it is current.
      const other = new Database(file);
      other.exec('BEGIN IMMEDIATE');
      for (const m of objects.migrations) if (m.version > 2 && m.sql) other.exec(m.sql);
      other.pragma(`user_version = ${objects.version}`);
      other.exec('COMMIT');
      other.close();
      const outcome = reconcileConnection(look.db!, look.facts, objects, {}, { facts: look.facts, classification: look.cls, plan, sameConnection: true });
      expect(outcome.plan).not.toBe(plan);
      expect(outcome.classification.status).toBe('current');
      expect(outcome.refused).toBe(false);
    } finally {
      look.db?.close();
    }
  });
});
