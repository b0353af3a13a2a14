/**
 * One error shape for the whole library. Messages are for people; programs branch on `code`.
 */
import type { StoreReport } from './report.js';

/** Statuses that `up` refuses. */
export const REFUSED_STATUSES = ['too-new', 'too-old', 'drift', 'conflict', 'foreign', 'corrupt', 'locked', 'error'] as const;
export type RefusedStatus = (typeof REFUSED_STATUSES)[number];

/** Every status a store file can have (see the contract). */
export const STATUSES = ['missing', 'empty', 'current', 'behind', 'legacy', ...REFUSED_STATUSES] as const;
export type Status = (typeof STATUSES)[number];

export type StoreErrorCode =
  | 'STORE_TOO_NEW'
  | 'STORE_TOO_OLD'
  | 'STORE_DRIFT'
  | 'STORE_CONFLICT'
  | 'STORE_FOREIGN'
  | 'STORE_CORRUPT'
  | 'STORE_LOCKED'
  | 'STORE_ERROR';

/** The error code that stands for a refused status. */
export function codeForStatus(status: RefusedStatus): StoreErrorCode {
  return `STORE_${status.replace('-', '_').toUpperCase()}` as StoreErrorCode;
}

export interface StoreRefusal {
  readonly store: string;
  readonly file: string;
  readonly status: RefusedStatus;
  /** `user_version` found, null when unreadable. */
  readonly found: number | null;
  readonly expected: number;
  readonly message: string;
}

/**
 * The only error `openStores` throws. `refusals` lists every refused store of the directory;
 * the first one gives `code`, `file`, `found`, `expected` and the message. `report` says what
 * was found and done before the error, per store: when the refusal came from the first look
 * (every store is classified before any is touched), every file was left as it was; when it came
 * later, the stores reconciled before it are reported as committed. `cause` is the underlying
 * error (an OS or SQLite error), when there is one.
 */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly code: StoreErrorCode;
  readonly store: string;
  readonly file: string;
  readonly found: number | null;
  readonly expected: number;
  readonly refusals: readonly StoreRefusal[];
  /** What was found and done per store before the error (the same entries as `openStores`' `report`). */
  readonly report: readonly StoreReport[];

  constructor(refusals: readonly StoreRefusal[], options?: { cause?: unknown; report?: readonly StoreReport[] }) {
    const first = refusals[0]!;
    const more = refusals.length > 1 ? ` (and ${refusals.length - 1} more refused: ${refusals.slice(1).map((r) => `${r.store} ${r.status}`).join(', ')})` : '';
    super(`${first.message}${more}`, options && 'cause' in options ? { cause: options.cause } : undefined);
    this.code = codeForStatus(first.status);
    this.store = first.store;
    this.file = first.file;
    this.found = first.found;
    this.expected = first.expected;
    this.refusals = refusals;
    this.report = options?.report ?? [];
  }
}

export interface RegistryProblem {
  /** Store name, or null for problems of the registry as a whole. */
  readonly store: string | null;
  /** The file at fault (a path when loaded from disk), or null. */
  readonly file: string | null;
  readonly message: string;
}

/** The registry is invalid; nothing was opened. Exit code 2. */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly code = 'REGISTRY_INVALID';
  readonly problems: readonly RegistryProblem[];

  constructor(problems: readonly RegistryProblem[]) {
    super(
      `invalid registry (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p.store ? `${p.store}: ` : ''}${p.file ? `${p.file}: ` : ''}${p.message}`).join('\n'),
    );
    this.problems = problems;
  }
}

/** A store file that `openStores` found missing with `create: false`. */
export interface MissingStore {
  readonly store: string;
  readonly file: string;
}

/**
 * Thrown by `openStores(…, { create: false })` when the data dir or any store file is missing:
 * nothing was created and no file was changed.
 */
export class MissingStoresError extends Error {
  override readonly name = 'MissingStoresError';
  readonly code = 'STORES_MISSING';
  readonly dir: string;
  readonly missing: readonly MissingStore[];

  constructor(dir: string, missing: readonly MissingStore[], dirMissing: boolean) {
    super(
      `${dirMissing ? `no data dir ${dir}` : `${dir}: ${missing.length} store${missing.length === 1 ? '' : 's'} missing`} (${missing.map((m) => m.file).join(', ')}); ` +
        'nothing was created because creating is turned off (create: false): check the path, or open with creating on to start a new data dir',
    );
    this.dir = dir;
    this.missing = missing;
  }
}

/** Bad command-line input. Exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'USAGE';
}

/** The message of any thrown value. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
