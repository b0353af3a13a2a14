/**
 * The report every command and the fleet library return: plain data, the `--json` document.
 */
import { REFUSED_STATUSES, type Status } from './errors.js';
import type { Registry } from './types.js';
import type { Change } from './schema/model.js';
import type { DataFinding } from './engine/data-check.js';

export type Action = 'created' | 'initialized' | 'migrated' | 'adopted' | 'repaired' | 'unchanged' | 'refused' | 'planned';

export interface PlanStepReport {
  readonly kind: string;
  readonly sql: string;
  readonly comment: string;
  readonly source: string;
  readonly destructive?: boolean;
  /** Rows of the tables a destructive step touches, counted by the dry run. */
  readonly rows?: Readonly<Record<string, number | null>>;
  /**
   * What a SQL migration step does to the file's rows, found by running the plan on a copy of
   * the file: violations of new constraints, rows lost, values a map turns to NULL (empty: none).
   */
  readonly data?: readonly DataFinding[];
}

export interface StoreReport {
  readonly name: string;
  /** Absolute path of the store file. */
  readonly file: string;
  /** Status found before acting. */
  readonly status: Status;
  /** `user_version` found (null when unreadable or absent). */
  readonly version: number | null;
  readonly target: number;
  /** What `up`/`adopt` did (absent for `check`). */
  readonly action?: Action;
  readonly from?: number | null;
  readonly to?: number | null;
  /** Path of the backup taken, if any. */
  readonly backup: string | null;
  readonly message: string;
  /** Milliseconds spent on this store. */
  readonly ms: number;
  /** Schema differences (drift). */
  readonly changes?: readonly Change[];
  /** The steps planned (`--dry-run`). */
  readonly plan?: readonly PlanStepReport[];
}

export interface DirReport {
  /** Absolute path of the data dir. */
  readonly path: string;
  readonly stores: readonly StoreReport[];
  /** Files an interrupted run left behind (partial backups, files being created): safe to delete. */
  readonly leftovers?: readonly string[];
}

export interface Report {
  readonly registry: readonly { name: string; file: string; version: number; minVersion: number }[];
  readonly dirs: readonly DirReport[];
  readonly summary: {
    readonly dirs: number;
    readonly stores: number;
    readonly byStatus: Partial<Record<Status, number>>;
    readonly byAction?: Partial<Record<Action, number>>;
    /** Data dirs never started because the run was interrupted (SIGINT/SIGTERM). */
    readonly notReached?: readonly string[];
  };
}

export type Mode = 'check' | 'up' | 'adopt';

const NEEDS_WORK: ReadonlySet<Status> = new Set(['missing', 'empty', 'behind', 'legacy']);
const REFUSED: ReadonlySet<Status> = new Set(REFUSED_STATUSES);

export function isRefusedStatus(s: Status): boolean {
  return REFUSED.has(s);
}

export function needsWork(s: Status): boolean {
  return NEEDS_WORK.has(s);
}

/** The registry part of a report. */
export function describeRegistry(registry: Registry): Report['registry'] {
  return registry.stores.map((s) => ({ name: s.name, file: s.file, version: s.version, minVersion: s.minVersion }));
}

/** Builds a report (with its summary) from per-directory results. */
export function buildReport(registry: Registry, dirs: readonly DirReport[], mode: Mode): Report {
  const byStatus: Partial<Record<Status, number>> = {};
  const byAction: Partial<Record<Action, number>> = {};
  let stores = 0;
  for (const d of dirs) {
    for (const s of d.stores) {
      stores++;
      byStatus[s.status] = (byStatus[s.status] ?? 0) + 1;
      if (s.action) byAction[s.action] = (byAction[s.action] ?? 0) + 1;
    }
  }
  const summary = mode === 'check' ? { dirs: dirs.length, stores, byStatus } : { dirs: dirs.length, stores, byStatus, byAction };
  return { registry: describeRegistry(registry), dirs, summary };
}

/** The exit code one store entry calls for: 4 refused, 3 still needs up/adopt, 0 otherwise. */
export function storeExitCode(s: StoreReport, mode: Mode): 0 | 3 | 4 {
  if (s.action === 'refused' || (mode === 'check' && isRefusedStatus(s.status))) return 4;
  if (mode === 'check' && needsWork(s.status)) return 3;
  if (s.action === 'planned') return 3;
  if (mode === 'adopt' && s.action === 'unchanged' && needsWork(s.status)) return 3;
  return 0;
}

/**
 * The exit code of a report (see the contract): 4 when a store is refused, 3 when something
 * still needs `up`/`adopt` (checks, dry runs, and stores `adopt` leaves to `up`), else 0.
 */
export function exitCode(report: Report, mode: Mode): 0 | 3 | 4 {
  let code: 0 | 3 | 4 = 0;
  for (const d of report.dirs) for (const s of d.stores) code = Math.max(code, storeExitCode(s, mode)) as 0 | 3 | 4;
  return code;
}
