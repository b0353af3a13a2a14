/**
 * The D1 driver against the real runtime: Miniflare's workerd on 127.0.0.1, started once for
 * the file and disposed after. Every database is put in its state through D1 itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Miniflare } from 'miniflare';
import { createRegistry } from '../src/api.js';
import { checkD1, reconcileD1, type D1Like } from '../src/d1/index.js';
import type { Registry } from '../src/types.js';
import { registry, storesFile } from './helpers.js';
import { all, dump, exec, startD1, writeAtD1 } from './d1-helpers.js';

const BINDINGS = ['EMPTY', 'BEHIND', 'CURRENT', 'TOONEW', 'DRIFT', 'FOREIGN', 'OTHER', 'LEGACY', 'DRY', 'CHECK', 'JS', 'RACE', 'INTRUDER', 'RESET', 'P1', 'P2', 'P3', 'CONTROL'];
let mf: Miniflare;
let d1: (name: string) => Promise<D1Like>;
let reg: Registry;

beforeAll(async () => {
  ({ mf, db: d1 } = await startD1(BINDINGS));
  reg = await registry();
}, 60_000);
afterAll(async () => {
  await mf?.dispose();
});

const objects = () => reg.stores.find((s) => s.name === 'objects')!;
/** One tenant with the objects store in `binding`. */
async function tenant(binding: string, name = 't1') {
  return [{ name, databases: { objects: { binding, db: await d1(binding) } } }];
}
/** A registry of the objects store alone (the shipped one has three stores). */
let only: Registry;
beforeAll(async () => {
  only = { source: reg.source, stores: [objects()] };
});
const entry = (r: Awaited<ReturnType<typeof reconcileD1>>) => r.dirs[0]!.stores[0]!;

describe('d1: statuses', () => {
  it('empty: up initializes at the target; a second run finds it current', async () => {
    const r = await reconcileD1(only, await tenant('EMPTY'));
    expect(r.dirs[0]!.path).toBe('d1:t1');
    const e = entry(r);
    expect(e).toMatchObject({ name: 'objects', file: 'd1:EMPTY', status: 'empty', action: 'initialized', from: 0, to: 4, backup: null });
    const db = await d1('EMPTY');
    expect(await all(db, 'SELECT store, version, application_id, written_by FROM _stores_version')).toEqual([{ store: 'objects', version: 4, application_id: null, written_by: 'stores' }]);
    expect(await all(db, "SELECT name FROM sqlite_schema WHERE name LIKE '\\_stores\\_%' ESCAPE '\\'")).toEqual([{ name: '_stores_version' }]);
    const again = entry(await checkD1(only, await tenant('EMPTY')));
    expect(again).toMatchObject({ status: 'current', version: 4 });
    expect(again.message).toBe('d1:EMPTY is current at v4');
  });

  it('behind: up migrates v1 → v4 and keeps every row', async () => {
    const db = await d1('BEHIND');
    await writeAtD1(db, objects(), 1, "INSERT INTO db_agent_definitions (id, slug, name, provider) VALUES ('a1', 'a', 'A', 'p'), ('a2', 'b', 'B', 'p');");
    const c = entry(await checkD1(only, await tenant('BEHIND')));
    expect(c).toMatchObject({ status: 'behind', version: 1 });
    const e = entry(await reconcileD1(only, await tenant('BEHIND')));
    expect(e).toMatchObject({ status: 'behind', action: 'migrated', from: 1, to: 4 });
    expect(e.message).toBe('migrated v4 from v1');
    expect(await all(db, 'SELECT id, slug FROM db_agents ORDER BY id')).toEqual([{ id: 'a1', slug: 'a' }, { id: 'a2', slug: 'b' }]);
    expect(entry(await checkD1(only, await tenant('BEHIND')))).toMatchObject({ status: 'current' });
  });
});
