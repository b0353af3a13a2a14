/**
 * `stores`: keep the SQLite stores of an application correct across versions.
 *
 * @example
 * import { loadRegistry, openStores } from 'stores';
 * const registry = await loadRegistry('stores');
 * const stores = await openStores(registry, dataDir);
 * stores.db.objects.prepare('SELECT 1').get();
 * await stores.close();
 */
export { loadRegistry, createRegistry, type CacheOption, type LoadOptions } from './load.js';
export {
  DEFAULT_CONNECTION,
  type ConnectionSettings,
  type Invariant,
  type LegacyDefinition,
  type MigrationDefinition,
  type Registry,
  type RenameRule,
  type StepContext,
  type StepFunction,
  type Store,
  type StoreDefinition,
  type StoreSpec,
  type Expectations,
} from './types.js';
export { openStores, applySettings, type OpenOptions, type OpenStores } from './boot.js';
export { checkFleet, reconcileFleet, type FleetRunOptions } from './api.js';
export { reconcileD1, checkD1, type D1Like, type D1StatementLike, type D1Database, type D1Dir, type D1Options } from './api.js';
export { reconcileStore, type ReconcileOptions } from './engine/reconcile.js';
export { reconcileThrough, DriverRefusal, type Driver, type DriverLook, type DriverOptions, type CommitResult } from './engine/driver.js';
export { classify, type Classification } from './engine/classify.js';
export { probe, type FileFacts } from './engine/probe.js';
export { plan, planToSql, type Plan, type PlanStep } from './engine/plan.js';
export { rebuildTable, type RebuildSpec } from './engine/rebuild.js';
export { inspect } from './schema/inspect.js';
export { diff, describeChange } from './schema/diff.js';
export type { Change, Snapshot, Table, Column, Index, ForeignKey, PrimaryKey, Unique, KeyTerm, Trigger, View } from './schema/model.js';
export { verifyRegistry, type VerifyResult } from './verify.js';
export { generateMigration, type GenerateOptions, type GenerateResult, type Refusal } from './generate.js';
export { generateTypes, type TypesOptions } from './types-gen.js';
export type { DataFinding } from './engine/data-check.js';
export { importStore, ImportError, type ImportResult, type ImportOptions, type HistoryEntry } from './import/index.js';
export { discover } from './fleet/discover.js';
export { createStopFlag, requestStop, type StopFlag } from './fleet/run-dir.js';
export type { FleetProgress } from './fleet/run.js';
export { exitCode, type Report, type DirReport, type StoreReport, type Action, type Mode } from './report.js';
export {
  StoreError,
  MissingStoresError,
  type MissingStore,
  RegistryError,
  UsageError,
  STATUSES,
  REFUSED_STATUSES,
  type Status,
  type RefusedStatus,
  type StoreErrorCode,
  type StoreRefusal,
  type RegistryProblem,
} from './errors.js';
