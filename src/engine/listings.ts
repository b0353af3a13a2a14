/**
 * Known `sqlite_schema` listings: the exact rows a file has when it took the usual road to a
 * version (created by a release, or migrated by this registry's steps). A file whose rows equal
 * one of them letter for letter has that version's schema by meaning, so classification and
 * verification can skip the full introspection. Every listing is computed once per store (per
 * thread) in memory and kept only if it equals the version's snapshot by meaning: a shortcut
 * never decides anything the full comparison would decide differently.
 */
import Database from 'better-sqlite3';
import type { Store } from '../types.js';
import { diff } from '../schema/diff.js';
import { inspect, readMaster, sameMaster } from '../schema/inspect.js';
import type { MasterRow } from '../schema/model.js';
import { runStep } from './steps.js';

type Road = (db: Database.Database) => void;

const cache = new WeakMap<Store, Map<string, readonly MasterRow[][]>>();

function memo(store: Store, key: string, compute: () => MasterRow[][]): readonly MasterRow[][] {
  let perStore = cache.get(store);
  if (!perStore) cache.set(store, (perStore = new Map()));
  let hit = perStore.get(key);
  if (!hit) perStore.set(key, (hit = compute()));
  return hit;
}

/** Runs each road in a fresh in-memory database; keeps the listings equal to `version`'s snapshot by meaning. */
function walk(store: Store, version: number, roads: readonly Road[]): MasterRow[][] {
  const expected = store.expect.snapshots.get(version);
  const out: MasterRow[][] = [];
  if (!expected) return out;
  for (const road of roads) {
    const db = new Database(':memory:');
    try {
      road(db);
      const master = readMaster(db);
      if (!out.some((m) => sameMaster(m, master)) && diff(expected, inspect(db, master)).length === 0) out.push(master);
    } catch {
      // A road that does not work is simply not a shortcut; the full comparison decides.
    } finally {
      db.close();
    }
  }
  return out;
}

/** The ways a file reaches version `v` from a release: its frozen schema, or the oldest schema and the steps. */
function roadsTo(store: Store, v: number): Road[] {
  const roads: Road[] = [
    (db) => {
      db.exec(store.oldestSchema);
      for (const m of store.migrations) if (m.version <= v) runStep(db, store.name, m);
    },
  ];
  const frozen = store.frozen.get(v);
  if (frozen) roads.push((db) => db.exec(frozen));
  return roads;
}

/** Listings of a file at version `v` (minVersion ≤ v < version) that took the usual road there. */
export function listingsAt(store: Store, v: number): readonly MasterRow[][] {
  if (v < store.minVersion || v >= store.version) return [];
  return memo(store, `at:${v}`, () => walk(store, v, roadsTo(store, v)));
}

/** Listings of a file migrated here from version `from` along the usual road. */
export function migratedListings(store: Store, from: number): readonly MasterRow[][] {
  if (from < store.minVersion || from >= store.version) return [];
  return memo(store, `from:${from}`, () =>
    walk(
      store,
      store.version,
      roadsTo(store, from).map((start) => (db: Database.Database) => {
        start(db);
        for (const m of store.migrations) if (m.version > from) runStep(db, store.name, m);
      }),
    ),
  );
}

/** True when `master` is a known listing of version `v` (the baseline's for the target version). */
export function isKnownListing(store: Store, v: number, master: readonly MasterRow[]): boolean {
  if (v === store.version) return sameMaster(master, store.expect.baselineMaster);
  return listingsAt(store, v).some((m) => sameMaster(master, m));
}
