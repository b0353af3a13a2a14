/**
 * `stores verify` as a library call: the shipped registry is proven; broken histories are caught.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../src/api.js';
import type { Registry, StoreDefinition } from '../src/types.js';
import { verifyRegistry } from '../src/verify.js';
import { registry, storesFile } from './helpers.js';

let reg: Registry;
beforeAll(async () => {
  reg = await registry();
});

/** The shipped objects store, as a code definition, with some parts replaced. */
function objectsWith(change: Partial<StoreDefinition> & { m4?: string }): Registry {
  const o = reg.stores.find((s) => s.name === 'objects')!;
  const migrations = o.migrations.map((m) => (m.version === 4 && change.m4 !== undefined ? { ...m, sql: change.m4 } : m));
  return createRegistry([
    {
      name: 'objects',
      file: 'objects.db',
      version: 4,
      minVersion: 1,
      schema: o.schema,
      oldestSchema: o.oldestSchema,
      migrations,
      seed: o.seed ?? undefined,
      legacy: o.legacy,
      invariants: o.invariants,
      ...change,
    },
  ]);
}

describe('verifyRegistry', () => {
  it('proves the shipped registry: fresh, v1..v3 with rows, both legacy samples, the unstamped samples', () => {
    const result = verifyRegistry(reg);
    const names = result.stores.flatMap((s) => s.checks.map((c) => `${s.name}: ${c.name}: ${c.ok ? 'ok' : c.detail}`));
    expect(names).toEqual([
      'filestore: fresh file equals the baseline (v1): ok',
      'filestore: frozen v1 equals the baseline: ok',
      'filestore: legacy sample legacy/unstamped.sql adopts to the baseline: ok',
      'objects: fresh file equals the baseline (v4): ok',
      'objects: frozen v1 equals v1 + its migrations: ok',
      'objects: frozen v4 equals the baseline: ok',
      'objects: v1 (frozen) with rows migrates to the baseline: ok',
      'objects: v2 with rows migrates to the baseline: ok',
      'objects: v3 with rows migrates to the baseline: ok',
      'objects: legacy sample legacy/forge-era.sql adopts to the baseline: ok',
      'objects: legacy sample legacy/forge-memories.sql adopts to the baseline: ok',
      'sagas: fresh file equals the baseline (v1): ok',
      'sagas: frozen v1 equals the baseline: ok',
      'sagas: legacy sample legacy/unstamped.sql adopts to the baseline: ok',
    ]);
    expect(result.ok).toBe(true);
  });

  it('a baseline edited without a migration fails every upgrade path, with a readable difference', () => {
    const r = verifyRegistry(objectsWith({ schema: storesFile('objects/schema.sql') + '\nCREATE INDEX idx_extra ON db_client(version);' }));
    expect(r.ok).toBe(false);
    const failed = r.stores[0]!.checks.filter((c) => !c.ok);
    expect(failed.map((c) => c.name)).toContain('v1 with rows migrates to the baseline');
    expect(failed[0]!.detail).toMatch(/missing index idx_extra on db_client/);
  });

  it('a backfill that forgets rows breaks the invariant', () => {
    const m4 = storesFile('objects/migrations/004-agents-consolidation.sql').replace('FROM db_agent_definitions;', 'FROM db_agent_definitions WHERE 0;');
    const r = verifyRegistry(objectsWith({ m4 }));
    const v3 = r.stores[0]!.checks.find((c) => c.name === 'v3 with rows migrates to the baseline')!;
    expect(v3.ok).toBe(false);
    expect(v3.detail).toMatch(/every agent definition has its db_agents row/);
  });

  it('a migration that deletes rows without declaring it fails verify', () => {
    const m4 = storesFile('objects/migrations/004-agents-consolidation.sql') + "\nDELETE FROM db_drone_runs;";
    const r = verifyRegistry(objectsWith({ m4 }));
    const v1 = r.stores[0]!.checks.find((c) => c.name === 'v1 with rows migrates to the baseline')!;
    expect(v1.ok).toBe(false);
    expect(v1.detail).toMatch(/004-agents-consolidation\.sql deletes rows of db_drone_runs without declaring it/);
    // Declared, the deletion is intended and verify passes.
    expect(verifyRegistry(objectsWith({ m4: `-- stores:destructive drone runs are rebuilt from the queue\n${m4}` })).ok).toBe(true);
  });

  it('a migration that loses rows some other way (an UPDATE) is caught as changed rows', () => {
    const m4 = storesFile('objects/migrations/004-agents-consolidation.sql') + "\nUPDATE db_client SET data = '{}';";
    const r = verifyRegistry(objectsWith({ m4 }));
    const v1 = r.stores[0]!.checks.find((c) => c.name === 'v1 with rows migrates to the baseline')!;
    expect(v1.ok).toBe(false);
    expect(v1.detail).toMatch(/db_client: 3 of 3 rows lost or changed/);
  });

  it('a legacy sample that no longer adopts (a rename removed) fails with the cause', () => {
    const o = reg.stores.find((s) => s.name === 'objects')!;
    const r = verifyRegistry(objectsWith({ legacy: { ...o.legacy, renames: o.legacy.renames.filter((x) => x.from !== 'db_identities') } }));
    const sample = r.stores[0]!.checks.find((c) => c.name.includes('forge-era'))!;
    expect(sample.ok).toBe(false);
    expect(sample.detail).toMatch(/conflict|foreign|db_identities/);
  });
});
