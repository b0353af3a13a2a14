/**
 * Crash safety: "a crash at any instant leaves each file old or new, never between".
 *
 * A fleet with real work to do — legacy adoptions whose dead tables hold rows (so a backup is
 * taken), migrations whose v4 backfill copies 20,000-40,000 rows (one file in WAL mode), fresh
 * creations, an in-place initialization — is reconciled by a spawned `stores up` (--concurrency
 * 2, sometimes 1) that is killed with SIGKILL at a random instant of its run. After each kill,
 * on byte-for-byte copies of the crashed fleet (so that the crashed state itself — hot journal,
 * -wal, leftovers — is what `check` and the follow-up `up` see), every store file must open,
 * pass `quick_check`, and be exactly at its old state (user_version, sqlite_schema, every row of
 * every table) or exactly at its target (baseline schema by meaning, every old row kept, the
 * backfill complete, invariants hold). Missing files are absent or complete; backups under their
 * final name are complete copies of the old file; leftovers (`.partial`, `.stores-new-*`) are
 * never discovered as stores. `stores check` lists only real store files, and a `stores up`
 * that is not killed finishes the job.
 *
 * STORES_CRASH_SEED=<n> replays a sequence of delays (the instants still vary with the machine);
 * STORES_CRASH_KILLS=<n> sets the number of kills (default 50).
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Registry, Store } from '../src/types.js';
import type { Report } from '../src/report.js';
import { diff, summarizeChanges } from '../src/schema/diff.js';
import { inspect } from '../src/schema/inspect.js';
import { loadRegistry } from '../src/api.js';
import { CLI, ROOT, STORES, store, tmpDir, writeAt, writeSql } from './helpers.js';

const KILLS = Number(process.env.STORES_CRASH_KILLS ?? 50);
const SEED = Number(process.env.STORES_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: a small seeded PRNG, so a run's sequence of delays can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// Templates: made once, copied for every kill.

/**
 * The shipped registry, copied once: the spawned CLIs and the expectations use the same one
 * for the whole file, even if stores/ is edited meanwhile.
 */
let registryDir = STORES;
const storesFile = (rel: string) => fs.readFileSync(path.join(registryDir, rel), 'utf8');

const N_LEGACY_AGENTS = 20_000;
const N_V1 = 30_000;
const N_V2 = 40_000;
const N_V3 = 20_000;

const seq = (n: number) => `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${n})`;

/** Definitions plus rows in the tables that reference them (ON DELETE CASCADE children). */
function objectsRows(n: number, version: number): string {
  const extra = version >= 3 ? ', updated_at, user_hidden' : version >= 2 ? ', updated_at' : '';
  const extraVals = version >= 3 ? ', 1700000000 + i * 7, i % 2' : version >= 2 ? ', 1700000000 + i * 7' : '';
  return `
${seq(n)} INSERT INTO db_agent_definitions (id, slug, name, provider, description, created_at${extra})
  SELECT 'agent-' || i, 'slug-' || i, 'Agent ' || i, 'p' || (i % 7), hex(randomblob(24)), 1600000000 + i${extraVals} FROM n;
${seq(Math.floor(n / 4))} INSERT INTO db_agent_content SELECT 'agent-' || i, 'prompt', 'prompt of ' || i FROM n;
${seq(Math.floor(n / 4))} INSERT INTO db_agent_history (agent_id, started_at, summary) SELECT 'agent-' || i, i, 'run ' || i FROM n;
${seq(500)} INSERT INTO db_client SELECT 'c' || i, i, '{"n":' || i || '}' FROM n;
INSERT INTO db_memory_bundles VALUES ('m1', 'notes', 'remember', 0);
`;
}

/** The forge-era layout with many agents, and dead tables holding thousands of rows. */
function legacyObjectsSql(): string {
  return `${storesFile('objects/legacy/forge-era.sql')}
${seq(N_LEGACY_AGENTS)} INSERT INTO db_forge_agents (id, slug, name, provider, description, created_at)
  SELECT 'fa-' || i, 'fslug-' || i, 'Forge ' || i, 'p' || (i % 3), hex(randomblob(16)), 1500000000 + i FROM n;
${seq(N_LEGACY_AGENTS / 2)} INSERT INTO db_forge_history (agent_id, started_at, summary) SELECT 'fa-' || i, i, 'h' || i FROM n;
${seq(N_LEGACY_AGENTS)} INSERT INTO db_workflow_definitions SELECT 'wfd-' || i, 'flow ' || i, hex(randomblob(120)) FROM n;
${seq(N_LEGACY_AGENTS)} INSERT INTO db_workflow_runs SELECT 'wfr-' || i, 'wfd-' || i, 'done' FROM n;
${seq(N_LEGACY_AGENTS)} INSERT INTO db_v10_migrated_legacy_defs SELECT 'x-' || i FROM n;
`;
}

function legacyFilestoreSql(): string {
  return `${storesFile('filestore/legacy/unstamped.sql')}
${seq(1000)} INSERT INTO wave_file SELECT 'zone', 'f' || i, 1024, i, i, '{}', '{}' FROM n;
${seq(1000)} INSERT INTO file_data SELECT 'zone', 'f' || i, 0, randomblob(1024) FROM n;
`;
}

type Tpl =
  | 'objects-legacy'
  | 'objects-legacy-small'
  | 'objects-v1'
  | 'objects-v2-wal'
  | 'objects-v3'
  | 'filestore-current'
  | 'filestore-legacy'
  | 'sagas-current'
  | 'sagas-legacy'
  | 'sagas-empty';

function makeTemplates(reg: Registry, dir: string): Record<Tpl, string> {
  const objects = store(reg, 'objects');
  const f = (name: Tpl) => path.join(dir, name);
  writeSql(f('objects-legacy'), legacyObjectsSql());
  writeSql(f('objects-legacy-small'), storesFile('objects/legacy/forge-era.sql'));
  writeAt(objects, f('objects-v1'), 1, objectsRows(N_V1, 1));
  writeAt(objects, f('objects-v2-wal'), 2, objectsRows(N_V2, 2));
  const wal = new Database(f('objects-v2-wal'));
  wal.pragma('journal_mode = WAL'); // persistent: the file stays in WAL mode
  wal.close();
  writeAt(objects, f('objects-v3'), 3, objectsRows(N_V3, 3));
  writeAt(store(reg, 'filestore'), f('filestore-current'), 1);
  writeSql(f('filestore-legacy'), legacyFilestoreSql());
  writeAt(store(reg, 'sagas'), f('sagas-current'), 1);
  writeSql(f('sagas-legacy'), storesFile('sagas/legacy/unstamped.sql'));
  fs.writeFileSync(f('sagas-empty'), '');
  return Object.fromEntries((Object.keys({
    'objects-legacy': 1, 'objects-legacy-small': 1, 'objects-v1': 1, 'objects-v2-wal': 1, 'objects-v3': 1,
    'filestore-current': 1, 'filestore-legacy': 1, 'sagas-current': 1, 'sagas-legacy': 1, 'sagas-empty': 1,
  }) as Tpl[]).map((k) => [k, f(k)])) as Record<Tpl, string>;
}

/** The fleet: data dir → store file → template (null: the file is missing). */
const FLEET: Record<string, Record<string, Tpl | null>> = {
  '1.0.0/shard-000': { 'objects.db': null, 'filestore.db': null, 'sagas.db': 'sagas-legacy' },
  '1.0.0/shard-001': { 'objects.db': 'objects-legacy', 'filestore.db': 'filestore-legacy', 'sagas.db': 'sagas-current' },
  '1.1.0/shard-002': { 'objects.db': 'objects-v1', 'filestore.db': 'filestore-current', 'sagas.db': null },
  '1.1.0/shard-003': { 'objects.db': 'objects-v2-wal', 'filestore.db': null, 'sagas.db': 'sagas-current' },
  '1.2.0/shard-004': { 'objects.db': 'objects-v3', 'filestore.db': 'filestore-current', 'sagas.db': 'sagas-empty' },
  '1.3.0/shard-005': { 'objects.db': 'objects-legacy-small', 'filestore.db': 'filestore-current', 'sagas.db': null },
};

/** Look-alikes that must never make a directory a data dir, nor be taken for a store. */
const DECOY_DIR = '1.9.0/decoy';
const DECOYS = ['objects.db.backup-20200101T000000000Z', 'objects.db.backup-20200101T000000000Z.partial', '.objects.db.stores-new-1-abcdefgh', 'sagas.db-journal', 'filestore.db-wal'];

function buildFleet(root: string, tpl: Record<Tpl, string>): void {
  fs.rmSync(root, { recursive: true, force: true });
  for (const [dir, files] of Object.entries(FLEET)) {
    fs.mkdirSync(path.join(root, dir), { recursive: true });
    for (const [file, t] of Object.entries(files)) if (t) fs.copyFileSync(tpl[t], path.join(root, dir, file));
  }
  fs.mkdirSync(path.join(root, DECOY_DIR), { recursive: true });
  for (const d of DECOYS) fs.copyFileSync(tpl['sagas-current'], path.join(root, DECOY_DIR, d));
}

// ---------------------------------------------------------------------------------------------
// States: what a file holds, compared exactly.

interface TableDigest {
  readonly columns: readonly string[];
  readonly count: number;
  /** SHA-256 of the sorted rows, each SQLite's quote() of every column: order-free, exact. */
  readonly hash: string;
}
interface State {
  readonly userVersion: number;
  /** sqlite_schema rows (type, name, tbl_name, sql), sorted: the schema to the letter. */
  readonly master: readonly string[];
  /** By case-folded table name. */
  readonly tables: ReadonlyMap<string, TableDigest>;
}

const qi = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Every row of a table, projected on `columns`, as canonical text, sorted. */
function rowsOf(db: Database.Database, table: string, columns: readonly string[]): string[] {
  const expr = columns.map((c) => `quote(${qi(c)})`).join(` || char(31) || `);
  return (db.prepare(`SELECT ${expr} FROM ${qi(table)}`).pluck().all() as string[]).sort();
}

function digest(columns: readonly string[], rows: readonly string[]): TableDigest {
  return { columns, count: rows.length, hash: crypto.createHash('sha256').update(rows.join('\n')).digest('hex').slice(0, 16) };
}

function tableNames(db: Database.Database): string[] {
  return db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'`).pluck().all() as string[];
}

function columnsOf(db: Database.Database, table: string): string[] {
  return db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(table) as string[];
}

function readState(db: Database.Database, keepRows?: Map<string, string[]>): State {
  const master = readMaster(db);
  const tables = new Map<string, TableDigest>();
  for (const t of tableNames(db)) {
    const columns = columnsOf(db, t);
    const rows = rowsOf(db, t, columns);
    keepRows?.set(t.toLowerCase(), rows);
    tables.set(t.toLowerCase(), digest(columns, rows));
  }
  return { userVersion: db.pragma('user_version', { simple: true }) as number, master, tables };
}

/** Where a table of a legacy file lives after adoption (renames apply in order: chains resolve). */
function renamed(s: Store, table: string): string {
  let name = table.toLowerCase();
  for (const r of s.legacy.renames) if (r.from.toLowerCase() === name) name = r.to.toLowerCase();
  return name;
}

/**
 * What every table must hold once a file from template `t` (null: missing) is at the target,
 * worked out from the template's rows and the seed, without the engine: each kept table holds
 * exactly its old rows (projected on its old columns, under its new name) plus the seed rows it
 * lacked; each table the file lacked holds the seed rows. `db_agents`, backfilled by migration
 * 004, is checked against the definitions instead (invariants and counts).
 */
function expectedAtTarget(s: Store, file: string | null): Map<string, TableDigest> {
  const seedDb = new Database(':memory:');
  try {
    seedDb.exec(s.schema);
    if (s.seed) seedDb.exec(s.seed);
    const out = new Map<string, TableDigest>();
    for (const t of tableNames(seedDb)) {
      const columns = columnsOf(seedDb, t);
      out.set(t.toLowerCase(), digest(columns, rowsOf(seedDb, t, columns)));
    }
    if (!file) return out;
    const rows = new Map<string, string[]>();
    const db = new Database(file, { readonly: true, fileMustExist: true });
    let old: State;
    try {
      old = readState(db, rows);
    } finally {
      db.close();
    }
    const dead = new Set(s.legacy.deadTables.map((d) => d.toLowerCase()));
    for (const [t, o] of old.tables) {
      if (old.userVersion === 0 && dead.has(t)) continue;
      const to = old.userVersion === 0 ? renamed(s, t) : t;
      const oldRows = rows.get(t)!;
      const have = new Set(oldRows);
      const seeded = rowsOf(seedDb, to, o.columns).filter((r) => !have.has(r));
      out.set(to, digest(o.columns, [...oldRows, ...seeded].sort()));
    }
    const keepsDefinitions = [...old.tables.keys()].some((t) => (old.userVersion === 0 ? renamed(s, t) : t) === 'db_agent_definitions');
    if (keepsDefinitions && !old.tables.has('db_agents')) out.delete('db_agents');
    return out;
  } finally {
    seedDb.close();
  }
}

function readMaster(db: Database.Database): string[] {
  return (db.prepare(`SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'`).all() as Record<string, string>[])
    .map((r) => JSON.stringify([r.type, r.name, r.tbl_name, r.sql]))
    .sort();
}

/** Differences between an open file and its old state ([] when identical). Rows are read only when the schema matches. */
function oldDifferences(db: Database.Database, old: State): string[] {
  const uv = db.pragma('user_version', { simple: true }) as number;
  if (uv !== old.userVersion) return [`user_version ${uv}, was ${old.userVersion}`];
  const master = readMaster(db);
  const gone = old.master.filter((m) => !master.includes(m));
  const added = master.filter((m) => !old.master.includes(m));
  if (gone.length || added.length) return [`schema rows: ${gone.length} gone (${gone.slice(0, 2).join('; ')}), ${added.length} new (${added.slice(0, 2).join('; ')})`];
  const out: string[] = [];
  for (const [t, o] of old.tables) {
    const n = digest(o.columns, rowsOf(db, t, o.columns));
    if (n.count !== o.count || n.hash !== o.hash) out.push(`${t}: ${n.count} rows (checksum ${n.hash}), was ${o.count} (${o.hash})`);
  }
  return out;
}

const countOf = (db: Database.Database, table: string) => db.prepare(`SELECT count(*) FROM ${qi(table)}`).pluck().get() as number;

/** Differences between an open file and the target: baseline, every expected row, invariants. */
function newDifferences(db: Database.Database, s: Store, expected: ReadonlyMap<string, TableDigest>): string[] {
  const uv = db.pragma('user_version', { simple: true }) as number;
  if (uv !== s.version) return [`user_version ${uv}, target ${s.version}`];
  const changes = diff(s.expect.snapshots.get(s.version)!, inspect(db));
  if (changes.length) return [`schema is not the baseline: ${summarizeChanges(changes, 5)}`];
  const out: string[] = [];
  const fk = db.prepare('SELECT count(*) FROM pragma_foreign_key_check').pluck().get() as number;
  if (fk) out.push(`foreign_key_check: ${fk} violations`);
  for (const inv of s.invariants) {
    const bad = db.prepare(inv.sql).all();
    if (bad.length) out.push(`invariant "${inv.name}": ${bad.length} rows`);
  }
  for (const [t, e] of expected) {
    const got = digest(e.columns, rowsOf(db, t, e.columns));
    if (got.count !== e.count || got.hash !== e.hash) out.push(`${t}: ${got.count} rows (checksum ${got.hash}), expected ${e.count} (${e.hash})`);
  }
  if (s.name === 'objects') {
    const [agents, defs] = [countOf(db, 'db_agents'), countOf(db, 'db_agent_definitions')];
    if (agents !== defs) out.push(`db_agents holds ${agents} rows, db_agent_definitions ${defs}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Running the CLI.

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], killAfterMs?: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args, '--stores', registryDir], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = killAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, ms: performance.now() - t0, stdout, stderr });
    });
  });
}

function parse(run: Run, what: string): Report {
  try {
    return JSON.parse(run.stdout) as Report;
  } catch {
    throw new Error(`${what}: exit ${run.code}, no JSON; stdout ${run.stdout.slice(0, 400)}; stderr ${run.stderr.slice(0, 400)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Judging a fleet.

type Verdict = 'old' | 'new' | 'absent';

let reg: Registry;
let tpl: Record<Tpl, string>;
const oldStates = new Map<Tpl, State>();
const templateHashes = new Map<Tpl, string>();
/** SHA-256 of files fully proven to be at the target, by `${store} ${template}`. */
const provenNew = new Map<string, Set<string>>();
const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
/** What each file must hold at the target, by `${store} ${template | missing}`. */
const targets = new Map<string, Map<string, TableDigest>>();
const targetOf = (s: Store, t: Tpl | null) => targets.get(`${s.name} ${t ?? 'missing'}`)!;

const expectedFiles = () =>
  Object.keys(FLEET)
    .flatMap((d) => reg.stores.map((s) => `${d}/${s.file}`))
    .sort();

/**
 * Copies every file of every data dir (companions and leftovers included) to `scratch`, so the
 * crashed fleet itself stays untouched for `check` and the follow-up `up`; the copies are opened
 * read-write, which rolls back a hot journal or replays a -wal as any SQLite reader would.
 */
function snapshotFleet(root: string, scratch: string): void {
  fs.rmSync(scratch, { recursive: true, force: true });
  for (const dir of [...Object.keys(FLEET), DECOY_DIR]) {
    fs.mkdirSync(path.join(scratch, dir), { recursive: true });
    for (const name of fs.readdirSync(path.join(root, dir))) fs.copyFileSync(path.join(root, dir, name), path.join(scratch, dir, name));
  }
}

/** Judges one store file: old, new or absent; throws with what is wrong otherwise. */
function judge(file: string, s: Store, t: Tpl | null, ctx: string, allowOld: boolean): Verdict {
  try {
    return judgeFile(file, s, t, ctx, allowOld);
  } catch (err) {
    const e = err as Error;
    if (!e.message.startsWith(ctx)) e.message = `${ctx}: ${file} (was ${t ?? 'missing'}) cannot be read: ${e.message}`;
    throw e;
  }
}

function judgeFile(file: string, s: Store, t: Tpl | null, ctx: string, allowOld: boolean): Verdict {
  if (!fs.existsSync(file)) {
    if (t === null && allowOld) return 'absent';
    throw new Error(`${ctx}: ${file} is gone (it was ${t ?? 'missing'})`);
  }
  const db = new Database(file, { fileMustExist: true });
  try {
    const qc = (db.pragma('quick_check') as { quick_check: string }[]).map((r) => r.quick_check).join('; ');
    if (qc !== 'ok') throw new Error(`${ctx}: ${file} fails quick_check: ${qc}`);
    // Byte for byte the template, or a file already proven to be at the target (once a hot
    // journal is rolled back, with nothing in a -wal): no need to read every row again.
    const bytes = fs.existsSync(`${file}-wal`) && fs.statSync(`${file}-wal`).size > 0 ? null : sha256(file);
    const proven = provenNew.get(`${s.name} ${t}`) ?? new Set<string>();
    provenNew.set(`${s.name} ${t}`, proven);
    if (bytes && allowOld && t && bytes === templateHashes.get(t)) return 'old';
    if (bytes && proven.has(bytes)) return 'new';
    let oldDiff: string[];
    try {
      oldDiff = t ? oldDifferences(db, oldStates.get(t)!) : ['the file was missing'];
    } catch (err) {
      oldDiff = [`cannot be read as the old file: ${(err as Error).message}`];
    }
    if (allowOld && oldDiff.length === 0) return 'old';
    let newDiff: string[];
    try {
      newDiff = newDifferences(db, s, targetOf(s, t));
    } catch (err) {
      newDiff = [`cannot be read as the target: ${(err as Error).message}`];
    }
    if (newDiff.length === 0) {
      if (bytes) proven.add(bytes);
      return 'new';
    }
    throw new Error(
      `${ctx}: ${file} (was ${t ?? 'missing'}) is ${allowOld ? 'neither old nor new' : 'not at the target'}.\n  compared with its old state: ${oldDiff.join('; ')}\n  compared with the target: ${newDiff.join('; ')}`,
    );
  } finally {
    db.close();
  }
}

/** A backup under its final name: a complete copy of the old file. */
function judgeBackup(file: string, t: Tpl | null, ctx: string): void {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const qc = db.pragma('quick_check', { simple: true });
    if (qc !== 'ok') throw new Error(`${ctx}: backup ${file} fails quick_check: ${qc}`);
    const diffs = t ? oldDifferences(db, oldStates.get(t)!) : ['there was no old file to back up'];
    if (diffs.length) throw new Error(`${ctx}: backup ${file} is not the old file: ${diffs.join('; ')}`);
  } finally {
    db.close();
  }
}

const isBackup = (file: string, name: string) => name.startsWith(`${file}.backup-`) && !/\.partial$|-(journal|wal|shm)$/.test(name);

interface Seen {
  verdicts: Map<string, Record<Verdict, number>>;
  backups: number;
  partials: number;
  temps: number;
  journals: number;
  wals: number;
  mixed: number;
}

/** After a kill: every store file old/new/absent, every backup complete, leftovers counted. */
async function judgeCrashed(scratch: string, ctx: string, seen: Seen): Promise<void> {
  const verdicts = new Set<Verdict>();
  for (const [dir, files] of Object.entries(FLEET)) {
    const names = fs.readdirSync(path.join(scratch, dir));
    seen.partials += names.filter((n) => n.endsWith('.partial')).length;
    seen.temps += names.filter((n) => n.includes('.stores-new-')).length;
    seen.journals += names.filter((n) => n.endsWith('-journal')).length;
    seen.wals += names.filter((n) => n.endsWith('-wal')).length;
    for (const s of reg.stores) {
      await new Promise((r) => setImmediate(r)); // let the child processes' events through
      const t = files[s.file]!;
      const where = `${ctx} ${dir}/${s.file}`;
      const v = judge(path.join(scratch, dir, s.file), s, t, where, true);
      verdicts.add(v);
      const tally = seen.verdicts.get(`${dir}/${s.file}`) ?? { old: 0, new: 0, absent: 0 };
      tally[v]++;
      seen.verdicts.set(`${dir}/${s.file}`, tally);
      const backups = names.filter((n) => isBackup(s.file, n));
      for (const b of backups) judgeBackup(path.join(scratch, dir, b), t, where);
      seen.backups += backups.length;
      // A legacy file whose dead tables held rows is adopted only once its backup is complete.
      const old = t ? oldStates.get(t)! : null;
      const deadRows = old?.userVersion === 0 && s.legacy.deadTables.some((d) => (old.tables.get(d.toLowerCase())?.count ?? 0) > 0);
      if (v === 'new' && deadRows && backups.length === 0) throw new Error(`${where}: adopted (dead rows dropped) with no complete backup beside it: ${names.join(', ')}`);
    }
  }
  if ((verdicts.has('old') || verdicts.has('absent')) && verdicts.has('new')) seen.mixed++;
}

/** `check`/`up` reports list the fleet's store files and nothing else. */
function expectOnlyStores(report: Report, root: string, ctx: string): void {
  const listed = report.dirs.flatMap((d) => d.stores.map((s) => path.relative(root, s.file))).sort();
  expect(listed, `${ctx}: stores listed`).toEqual(expectedFiles());
  expect(report.dirs.map((d) => path.relative(root, d.path)).sort(), `${ctx}: data dirs`).toEqual(Object.keys(FLEET).sort());
}

/** After an up that was not killed: every file at the target with all its rows, backups complete. */
function judgeFinished(root: string, ctx: string): void {
  for (const [dir, files] of Object.entries(FLEET)) {
    const names = fs.readdirSync(path.join(root, dir));
    for (const s of reg.stores) {
      const t = files[s.file]!;
      judge(path.join(root, dir, s.file), s, t, `${ctx} ${dir}/${s.file}`, false);
      for (const b of names.filter((n) => isBackup(s.file, n))) judgeBackup(path.join(root, dir, b), t, `${ctx} ${dir}/${s.file}`);
    }
  }
  // The decoy dir was neither discovered nor written.
  expect(fs.readdirSync(path.join(root, DECOY_DIR)).sort(), `${ctx}: decoy dir`).toEqual([...DECOYS].sort());
}

/** Keeps a crashed fleet for the report of a failure: returns a function that copies it once. */
function keepCopy(dir: string): () => string {
  let kept: string | null = null;
  return () => {
    if (!kept) {
      kept = fs.mkdtempSync(path.join(path.dirname(path.dirname(dir)), 'stores-crash-failure-'));
      fs.cpSync(dir, kept, { recursive: true });
    }
    return kept;
  };
}

function annotate(err: unknown, kept: string): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  e.message += `\n  (the crashed fleet, as the kill left it, is kept at ${kept})`;
  return e;
}

function keepOnFailure(dir: string, ctx: string, f: () => void): void {
  try {
    f();
  } catch (err) {
    throw annotate(err, keepCopy(dir)());
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * How long an unkilled `up` takes, per --concurrency: `full` on the fleet, `idle` on the same
 * fleet once current (start-up, discovery, probes: about when the first write can happen).
 * The kills are spread over that range, scaled as the machine's load changes.
 */
const timing = new Map<string, { full: number[]; idle: number[] }>();

beforeAll(async () => {
  registryDir = tmpDir('stores-crash-registry-');
  fs.cpSync(STORES, registryDir, { recursive: true });
  reg = await loadRegistry(registryDir);
  tpl = makeTemplates(reg, tmpDir('stores-crash-tpl-'));
  for (const [name, file] of Object.entries(tpl) as [Tpl, string][]) {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    oldStates.set(name, readState(db));
    db.close();
    templateHashes.set(name, sha256(file));
  }
  for (const files of Object.values(FLEET))
    for (const s of reg.stores) {
      const t = files[s.file]!;
      targets.set(`${s.name} ${t ?? 'missing'}`, expectedAtTarget(s, t && tpl[t]));
    }
}, 120_000);

describe('crash at any instant (SIGKILL during stores up)', () => {
  it('an unkilled run does all the work; a second one finds everything current; their durations set the range of the kills', async () => {
    const root = path.join(tmpDir('stores-crash-'), 'fleet');
    const times: Record<string, { full: number[]; idle: number[] }> = { '1': { full: [], idle: [] }, '2': { full: [], idle: [] } };
    for (const concurrency of ['2', '1', '2', '1']) {
      buildFleet(root, tpl);
      const run = await runCli(['up', '--root', root, '--json', '--concurrency', concurrency]);
      const report = parse(run, 'unkilled up');
      expect(run.code, run.stderr).toBe(0);
      expectOnlyStores(report, root, 'unkilled up');
      expect(report.summary.byAction).toMatchObject({ adopted: 4, migrated: 3, created: 5, initialized: 1 });
      // Both forge-era files had rows in dead tables: each was backed up.
      expect(report.dirs.flatMap((d) => d.stores).filter((s) => s.backup !== null)).toHaveLength(2);
      judgeFinished(root, `unkilled up --concurrency ${concurrency}`);
      const again = await runCli(['up', '--root', root, '--json', '--concurrency', concurrency]);
      expect(again.code, again.stderr).toBe(0);
      expect(parse(again, 'second up').summary.byAction).toEqual({ unchanged: expectedFiles().length });
      times[concurrency]!.full.push(run.ms);
      times[concurrency]!.idle.push(again.ms);
    }
    for (const [c, t] of Object.entries(times)) timing.set(c, t);
    const show = (xs: number[]) => xs.map((x) => `${Math.round(x)} ms`).join(', ');
    console.log(Object.entries(times).map(([c, t]) => `--concurrency ${c}: unkilled up ${show(t.full)}; on the current fleet ${show(t.idle)}`).join('\n'));
  });

  it('the judge has teeth: half a backfill, a bare stamp, a lost row, a partial file, a partial backup are all "between"', async () => {
    const base = tmpDir('stores-crash-');
    const root = path.join(base, 'fleet');
    buildFleet(root, tpl);
    expect((await runCli(['up', '--root', root, '--json', '--concurrency', '1'])).code).toBe(0);
    const objects = store(reg, 'objects');
    const between = (name: string, make: (file: string) => void, t: Tpl | null, from: string) => {
      const file = path.join(base, name);
      fs.copyFileSync(from, file);
      make(file);
      return () => judge(file, objects, t, name, true);
    };
    const sql = (q: string) => (file: string) => {
      const db = new Database(file);
      db.exec(q);
      db.close();
    };
    const migrated = path.join(root, '1.1.0/shard-002/objects.db');
    const created = path.join(root, '1.0.0/shard-000/objects.db');
    expect(between('untouched', () => undefined, 'objects-v1', tpl['objects-v1'])()).toBe('old');
    expect(between('done', () => undefined, 'objects-v1', migrated)()).toBe('new');
    expect(between('half-backfill', sql('DELETE FROM db_agents WHERE rowid % 2 = 0'), 'objects-v1', migrated)).toThrow(/neither old nor new[\s\S]*db_agents holds 15000 rows/);
    expect(between('bare-stamp', sql('PRAGMA user_version = 4'), 'objects-v1', tpl['objects-v1'])).toThrow(/neither old nor new[\s\S]*schema is not the baseline/);
    expect(between('lost-row', sql("DELETE FROM db_agent_content WHERE agent_id = 'agent-7'"), 'objects-v1', migrated)).toThrow(/db_agent_content: 7499 rows/);
    expect(between('lost-row-old', sql("DELETE FROM db_agent_content WHERE agent_id = 'agent-7'"), 'objects-v1', tpl['objects-v1'])).toThrow(/db_agent_content: 7499 rows/);
    expect(between('partial', (f) => fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2)), null, created)).toThrow(/cannot be read|quick_check|not at the target|neither/);
    const backup = fs.readdirSync(path.join(root, '1.0.0/shard-001')).find((n) => isBackup('objects.db', n))!;
    const partialBackup = path.join(base, 'partial-backup');
    fs.copyFileSync(path.join(root, '1.0.0/shard-001', backup), partialBackup);
    expect(() => judgeBackup(partialBackup, 'objects-legacy', 'backup')).not.toThrow();
    fs.truncateSync(partialBackup, Math.floor(fs.statSync(partialBackup).size / 2));
    expect(() => judgeBackup(partialBackup, 'objects-legacy', 'backup')).toThrow();
  });

  it(`${KILLS} SIGKILLs at random instants: each file old or new, never between; a follow-up up finishes`, async () => {
    expect(timing.size).toBe(2);
    // The fastest runs measured: a load spike only lengthens a run (the scale then grows).
    const windows = new Map([...timing].map(([c, t]) => [c, { idle: Math.min(Math.min(...t.idle), 0.7 * Math.min(...t.full)), full: Math.min(...t.full), scale: 1 }]));
    const random = prng(SEED);
    const base = tmpDir('stores-crash-');
    const root = path.join(base, 'fleet');
    const scratch = path.join(base, 'scratch');
    const checked = path.join(base, 'checked');
    const seen: Seen = { verdicts: new Map(), backups: 0, partials: 0, temps: 0, journals: 0, wals: 0, mixed: 0 };
    let kills = 0;
    let finishedFirst = 0;
    const t0 = performance.now();
    for (let i = 0; kills < KILLS; i++) {
      expect(i, 'too many runs finished before their kill').toBeLessThan(KILLS * 2);
      const concurrency = random() < 0.3 ? '1' : '2';
      // Over the stretch where files are written (from about the end of start-up to the end of
      // the run), one kill in ten during start-up. The machine's load changes the run's length,
      // so the window (the measured one, scaled) follows the runs: it shrinks when a run
      // finishes before its kill and grows when a kill in its last 15% finds the run going, which
      // keeps its end a little past the end of a run (a few runs in a hundred finish first).
      const w = windows.get(concurrency)!;
      const [start, end] = [w.idle * w.scale, w.full * w.scale];
      const early = random() < 0.1;
      const delay = Math.round(early ? random() * start : 0.8 * start + random() * (end - 0.8 * start));
      const ctx = `[seed ${SEED}, run ${i}, kill after ${delay} ms, --concurrency ${concurrency}]`;
      buildFleet(root, tpl);
      const run = await runCli(['up', '--root', root, '--json', '--concurrency', concurrency], delay);
      if (run.signal !== 'SIGKILL') {
        // Finished before its kill: an unkilled run, which must have done everything.
        expect(run.code, `${ctx} ${run.stderr}`).toBe(0);
        keepOnFailure(root, ctx, () => judgeFinished(root, `${ctx} (finished before the kill)`));
        w.scale = Math.max(0.2, Math.min(w.scale * 0.95, (1.2 * run.ms) / w.full));
        finishedFirst++;
        continue;
      }
      kills++;
      if (delay > 0.85 * end) w.scale *= 1.05;

      // The crashed fleet, byte for byte, three times: judged on one copy, checked on another,
      // and finished in place by a follow-up up, all at once.
      snapshotFleet(root, scratch);
      snapshotFleet(root, checked);
      const kept = keepCopy(checked);
      const followUp = Promise.all([
        runCli(['check', '--root', checked, '--json', '--concurrency', '1']),
        runCli(['up', '--root', root, '--json', '--concurrency', random() < 0.5 ? '1' : '2']),
      ]);
      try {
        await judgeCrashed(scratch, ctx, seen);
      } catch (err) {
        await followUp.catch(() => undefined);
        throw annotate(err, kept());
      }
      const [check, up] = await followUp;

      expect([0, 3, 4], `${ctx} check exit; ${check.stderr}`).toContain(check.code);
      const checkReport = parse(check, `${ctx} check`);
      expectOnlyStores(checkReport, checked, `${ctx} check`);
      for (const d of checkReport.dirs)
        for (const s of d.stores) {
          // What a crash may leave: the old status, the new one, or (read-only) a hot journal.
          const ok = ['current', 'behind', 'legacy', 'missing', 'empty'].includes(s.status) || (s.status === 'error' && /journal/i.test(s.message));
          expect(ok, `${ctx} check: ${s.file} is ${s.status}: ${s.message}`).toBe(true);
        }

      const report = parse(up, `${ctx} follow-up up`);
      const refused = report.dirs.flatMap((d) => d.stores.filter((s) => s.action === 'refused').map((s) => `${s.file}: ${s.status}: ${s.message}`));
      if (refused.length) throw annotate(new Error(`${ctx} follow-up up refused:\n  ${refused.join('\n  ')}`), kept());
      expect(up.code, `${ctx} follow-up up; ${up.stderr}`).toBe(0);
      expectOnlyStores(report, root, `${ctx} follow-up up`);
      try {
        judgeFinished(root, `${ctx} (after the follow-up up)`);
      } catch (err) {
        throw annotate(err, kept());
      }
    }
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    const shown = [...windows].map(([c, w]) => `--concurrency ${c} ${Math.round(w.idle * w.scale)}..${Math.round(w.full * w.scale)} ms`).join(', ');
    const tally = [...seen.verdicts].map(([f, v]) => `  ${f}: ${v.old} old, ${v.new} new, ${v.absent} absent`).join('\n');
    console.log(
      `seed ${SEED}: ${kills} kills (+${finishedFirst} runs finished before their kill) in ${seconds} s; final windows ${shown}; ` +
        `${seen.mixed} kills left a fleet part old, part new; seen in crashed fleets: ${seen.journals} -journal, ${seen.wals} -wal, ` +
        `${seen.backups} complete backups, ${seen.partials} .partial, ${seen.temps} .stores-new-*\n${tally}`,
    );
    // The kills landed across the run: before any commit, after some, and in between.
    const all = [...seen.verdicts.values()];
    expect(all.some((v) => v.old > 0) && all.some((v) => v.new > 0)).toBe(true);
    expect(seen.mixed).toBeGreaterThan(0);
    // Each kill costs a few whole processes; on a loaded 2-core machine that is minutes, so the
    // bound is generous: the test is judged by its verdicts, never by its speed.
  }, 900_000);
});
