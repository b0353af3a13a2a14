/**
 * What the D1 driver needs of a D1 database, as a structural type: a Worker's `env.DB`,
 * Miniflare's `getD1Database()` and wrangler's `getPlatformProxy()` all give one. No dependency
 * on Cloudflare's types.
 */
import type { Mode } from '../report.js';

/** A prepared statement of a D1 database. */
export interface D1StatementLike {
  bind(...values: unknown[]): D1StatementLike;
  all(): Promise<{ results: unknown[] }>;
  first(): Promise<unknown>;
  run(): Promise<unknown>;
}

/** A D1 database binding: statements, and `batch`, which runs statements in one atomic transaction. */
export interface D1Like {
  prepare(sql: string): D1StatementLike;
  batch(statements: D1StatementLike[]): Promise<{ results: unknown[] }[]>;
}

/** One store's database: the binding's name (its identity in reports: `d1:<binding>`) and the binding. */
export interface D1Database {
  readonly binding: string;
  readonly db: D1Like;
}

/** A tenant (the D1 counterpart of a data dir): its name (`d1:<name>` in reports) and a database per store. */
export interface D1Dir {
  readonly name: string;
  /** Store name → its database. A store of the registry left out is reported as an error. */
  readonly databases: Readonly<Record<string, D1Database>>;
}

export interface D1Options {
  /** `check` reads only (default for checkD1); `up` reconciles (default for reconcileD1); `adopt` legacy databases only. */
  readonly mode?: Mode;
  /** Plan (and rehearse the plan on the schema in memory), write nothing. */
  readonly dryRun?: boolean;
  /** Databases in flight at once (default 8). */
  readonly concurrency?: number;
  /** Add what a drifted database lacks (like `up --repair`). */
  readonly repair?: boolean;
  /** Clock for the version row's `at` (tests inject one). */
  readonly now?: () => Date;
}
