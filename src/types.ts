/**
 * The types a host sees: store declarations and their validated form (src/registry/types.ts),
 * and the store the engine works on, which adds what each version must look like
 * (computed in memory by src/engine/expect.ts).
 */
import type { MasterRow, Snapshot } from './schema/model.js';
import type { DestructiveAnalysis } from './engine/destructive.js';
import type { StoreSpec } from './registry/types.js';

export * from './registry/types.js';

/** What a store's schema must be at each version, computed once in memory at load time. */
export interface Expectations {
  /** Snapshot per supported version (minVersion … version); `version` is the baseline's. */
  readonly snapshots: ReadonlyMap<number, Snapshot>;
  /** The baseline's `sqlite_schema` rows: a file whose rows match these is current at a glance. */
  readonly baselineMaster: readonly MasterRow[];
  /** The oldest version's objects in creation order (used to complete adopted legacy files). */
  readonly oldestObjects: readonly MasterRow[];
  /** The baseline's objects in creation order (used by --repair). */
  readonly baselineObjects: readonly MasterRow[];
}

/** A validated store, with what each of its versions must be. */
export interface Store extends StoreSpec {
  readonly expect: Expectations;
  /** What each migration step destroys (by the version it brings the file to). */
  readonly destructive: ReadonlyMap<number, DestructiveAnalysis>;
}

/**
 * A validated registry. `Names` are its store names: literal when the registry was built in code
 * from definitions the compiler sees (`createRegistry([...])`), so `openStores` can type
 * `stores.db.objects`; `string` when loaded from a folder.
 */
export interface Registry<Names extends string = string> {
  /** Where it came from: a folder path, or `code`. */
  readonly source: string;
  readonly stores: readonly (Store & { readonly name: Names })[];
}
