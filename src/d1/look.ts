/**
 * The look at a D1 database: everything classification needs, read in one or two batches
 * (`sqlite_schema`, the listing as one string, `quick_check`; then the version row), then asked
 * of SQLite on a `:memory:` replica of the schema through the engine's own `collect`, so that the
 * snapshot, the exclusion layer, the known-listing match and the history presets are exactly the
 * local ones. The file-system part of the facts is synthesized: a D1 database is always there.
 */
import type Database from 'better-sqlite3';
import type { Store } from '../types.js';
import type { MasterRow } from '../schema/model.js';
import { classify, type Classification } from '../engine/classify.js';
import { collect, errorFacts, unreadFacts, type FileFacts, type FileStat } from '../engine/probe.js';
import { buildReplica, copyRows, tablesToCopy } from './replica.js';
import { HAS_VERSION_TABLE, LISTING, QUICK_CHECK, SCHEMA_ROWS, VERSION_TABLE } from './sql.js';
import type { D1Like } from './types.js';

/** The version row as read (null: no table, or no row: version 0). */
export interface VersionRow {
  readonly store: string;
  readonly version: number;
  readonly applicationId: number | null;
}

export interface D1Look {
  readonly facts: FileFacts;
  readonly cls: Classification;
  /** The listing as D1 gave it (what a batch's first guard expects to find still). */
  readonly listing: string | null;
  /** How many rows `_stores_version` held (null: no such table). */
  readonly versionRows: number | null;
  readonly versionRow: VersionRow | null;
  /** The schema replayed in memory, at the facts' version (the caller closes it). */
  readonly replica: Database.Database | null;
}

/** A D1 database has no file: a plain, present, non-empty SQLite database, named `d1:<binding>`. */
export function d1Stat(id: string, userVersion: number): FileStat {
  return { file: id, kind: 'file', size: 4096, walBytes: 0, journal: false, header: { sqlite: true, wal: false, userVersion }, advice: D1_ADVICE };
}

/**
 * The remedies the engine's messages name, on D1: no backup file is written beside a database
 * (its Time Travel can restore an earlier state), and `stores diff` reads files only.
 */
const D1_ADVICE = {
  backedUp: 'no backup file on D1: its Time Travel can restore the state before',
  restore: 'restore it with D1 Time Travel',
  differences: "each difference is in the report's `changes` (`--json`)",
} as const;

/** An error of D1's (or of the transport) as facts: its code is D1's prefix (`D1_ERROR`) when it has one. */
export function d1Error(err: unknown): { code: string; message: string } {
  const e = errorFacts(err);
  if (e.code !== 'UNKNOWN') return e;
  return { code: /^(D1_[A-Z_]+)/.exec(e.message)?.[1] ?? 'D1_UNREACHABLE', message: e.message };
}

/** Looks at the database without writing a byte; never throws for one database. */
export async function lookD1(d1: D1Like, store: Store, id: string, integrity: boolean): Promise<D1Look> {
  let replica: Database.Database | null = null;
  try {
    const reads = [d1.prepare(SCHEMA_ROWS), d1.prepare(LISTING), d1.prepare(HAS_VERSION_TABLE), ...(integrity ? [d1.prepare(QUICK_CHECK)] : [])];
    const [rowsRes, listingRes, hasRes, quickRes] = await d1.batch(reads);
    const rows = (rowsRes?.results ?? []) as MasterRow[];
    const listing = String((listingRes?.results[0] as { listing?: unknown } | undefined)?.listing ?? '');
    const quick = quickRes ? String((quickRes.results[0] as { quick_check?: unknown } | undefined)?.quick_check ?? '') : null;
    const { rows: versionRows, row, problem } = (hasRes?.results.length ?? 0) > 0 ? await readVersion(d1, store, id) : { rows: null, row: null, problem: null };
    const version = row?.version ?? 0;
    const stat = d1Stat(id, version);
    replica = buildReplica(rows);
    replica.pragma(`user_version = ${version}`);
    replica.pragma(`application_id = ${row?.applicationId ?? 0}`);
    if (version === 0) await copyRows(d1, replica, tablesToCopy(store, rows));
    const facts: FileFacts = { ...collect(replica, store, stat, { integrity: false }), integrity: quick };
    const cls: Classification = problem ? { status: 'foreign', version, target: store.version, message: problem } : classify(facts, store);
    return { facts, cls, listing, versionRows, versionRow: row, replica };
  } catch (err) {
    replica?.close();
    const facts = unreadFacts(d1Stat(id, 0), d1Error(err));
    return { facts, cls: classify(facts, store), listing: null, versionRows: null, versionRow: null, replica: null };
  }
}


/** The version row, `_stores_version` being there (and a reason the database is another store's, when it is). */
async function readVersion(d1: D1Like, store: Store, id: string): Promise<{ rows: number | null; row: VersionRow | null; problem: string | null }> {
  const all = ((await d1.prepare(`SELECT store, version, application_id FROM ${VERSION_TABLE}`).all()).results ?? []) as { store: unknown; version: unknown; application_id: unknown }[];
  if (all.length === 0) return { rows: 0, row: null, problem: null };
  const r = all[0]!;
  const version = typeof r.version === 'number' && Number.isSafeInteger(r.version) ? r.version : NaN;
  const row: VersionRow = { store: String(r.store), version: Number.isNaN(version) ? 0 : version, applicationId: typeof r.application_id === 'number' ? r.application_id : null };
  const fix = 'it belongs to another program or store; point stores at the right database';
  if (all.length > 1) return { rows: all.length, row, problem: `${id} holds ${all.length} rows in ${VERSION_TABLE}, where stores writes one: ${fix}` };
  if (row.store !== store.name) return { rows: 1, row, problem: `${id} holds the version row of store ${JSON.stringify(row.store)}, not of store ${store.name}: ${fix}` };
  if (Number.isNaN(version) || version < 0 || version > 0x7fffffff) return { rows: 1, row, problem: `${id} has version ${JSON.stringify(r.version)} in ${VERSION_TABLE}, which no version of this store writes: ${fix}` };
  return { rows: 1, row, problem: null };
}
