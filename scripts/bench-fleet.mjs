#!/usr/bin/env node
/**
 * Fleet benchmark: whole `stores` processes against baselines measured in the same run.
 *
 *   npm run bench                 # build, then this (which also runs scripts/bench-boot.mjs)
 *   BENCH_QUICK=1 npm run bench   # a reduced run (fewer dirs, fewer repetitions): under a minute
 *
 * Workloads (every figure is the median wall time of whole processes, spawned one at a time,
 * each ratio against a baseline measured in the same run, the variants interleaved):
 *
 *   check 1k / 10k    `stores check --root R --json > /dev/null` over data dirs of 3 current
 *                     store files each, against a raw scan: one node process, single-threaded,
 *                     better-sqlite3, walking R and, for each store file: open, PRAGMA
 *                     user_version, SELECT type,name,tbl_name,sql FROM sqlite_schema, close.
 *                     Target ≤ 1.0×. Peak RSS of check (GNU time %M: the process with its
 *                     worker threads) over 10k dirs against 1k: target ≤ 1.2×.
 *   create 200        `stores up D1 … D200` (dirs absent) against a raw sequential creation in
 *                     one process (per store: open, the store's connection pragmas, BEGIN,
 *                     schema.sql, seed.sql, user_version, COMMIT, close). Target ≤ 0.8×.
 *                     Against Kysely's Migrator and umzug: stores faster (< 1.0×).
 *   no-op 1k          `stores up --root R` on current dirs, against Kysely and umzug: < 1.0×.
 *   upgrade 200       `stores up --root R` on 200 `behind` dirs (objects.db at v1/v2/v3 with
 *                     rows; filestore, sagas current), against `stores up --concurrency 1`
 *                     (< 1.0×), Kysely and umzug (< 1.0×).
 *   adopt 200         the same on 200 `legacy` dirs (objects.db from legacy/forge-era.sql,
 *                     filestore.db and sagas.db from their legacy/unstamped.sql).
 *   boot              scripts/bench-boot.mjs (openStores against raw open + user_version +
 *                     schema read, in process): target ≤ 1.5×. Measured here if that script is absent.
 *
 * Kysely and umzug drive the registry's own SQL files, with the store's connection pragmas,
 * one process per tool, data dirs and stores one after another (as they naturally run):
 *   - migration 001 creates the oldest schema (versions/001.sql, or schema.sql when the store
 *     has no older version) or, on a file that already has tables, adopts it with the store's
 *     legacy rules (renames, leftover indexes, dead tables — backed up with VACUUM INTO first
 *     when they hold rows — and the oldest schema's missing objects): the same SQL `stores`
 *     runs; then migrations 002…; then seed.sql when anything ran;
 *   - Kysely: Migrator with an in-code provider, SqliteDialect over better-sqlite3, each
 *     statement through sql.raw (better-sqlite3's prepare takes one statement); its own
 *     kysely_migration tables (so its fleets are built by Kysely itself);
 *   - umzug: in-code migrations run with db.exec, and a small storage in PRAGMA user_version
 *     (so it works on exactly the same files as `stores`).
 *
 * Output: a table on stdout (progress on stderr), scripts/bench-results.json and docs/bench.svg
 * (BENCH_QUICK: scripts/bench-results.quick.json and docs/bench.quick.svg). Besides the wall
 * times, each row shows the CPU time of both processes (user+sys, all threads: GNU time) and
 * the "other load": cores kept busy by other processes while they ran (from /proc/stat). On a
 * shared machine a row with other load above 0.25 is noisy; run again when the machine is quiet.
 *
 * Environment: BENCH_QUICK=1 (reduced run), BENCH_DIR (where the fleets are built; default the
 * OS temp dir; several GB for the 10k fleet), BENCH_ONLY (comma-separated workload ids:
 * check,rss,create,noop,upgrade,adopt,boot), BENCH_KEEP=1 (keep the fleets), BENCH_CLI (another
 * build of the CLI to measure, e.g. a modified copy of dist/cli/main.js).
 *
 * `node scripts/bench-fleet.mjs --render [RESULTS.json] [OUT.svg]` redraws the chart from a results file.
 *
 * Internal: `node scripts/bench-fleet.mjs --child KIND ARGS…` is how the baselines and the
 * other tools run as processes of their own (raw-scan ROOT | raw-create LIST | kysely LIST |
 * umzug LIST, LIST a JSON file of data dirs).
 *
 * Run `npx tsc -p .` first: `stores` runs from dist/.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PKG = path.resolve(HERE, '..');
const STORES = path.join(PKG, 'stores');
// BENCH_CLI: measure another build of the CLI (e.g. a modified copy of dist/) with the same harness.
const CLI = process.env.BENCH_CLI ? path.resolve(process.env.BENCH_CLI) : path.join(PKG, 'dist', 'cli', 'main.js');
const DIST_INDEX = path.join(PKG, 'dist', 'index.js');
const BOOT_BENCH = path.join(HERE, 'bench-boot.mjs');

// ---------------------------------------------------------------------------------------------
// The registry, read straight from its folder: the baselines and the other tools never use
// stores' own code, only the same SQL files and settings.
// ---------------------------------------------------------------------------------------------

function readRegistry(dir = STORES) {
  const out = [];
  for (const name of fs.readdirSync(dir).sort((a, b) => a.localeCompare(b))) {
    const sdir = path.join(dir, name);
    const jsonFile = path.join(sdir, 'store.json');
    if (!fs.existsSync(jsonFile)) continue;
    const json = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
    const read = (rel) => fs.readFileSync(path.join(sdir, rel), 'utf8');
    const version = json.version;
    const minVersion = json.minVersion ?? version;
    const oldestRel = json.oldestSchema ?? (minVersion < version ? `versions/${String(minVersion).padStart(3, '0')}.sql` : 'schema.sql');
    const seedRel = json.seed ?? (fs.existsSync(path.join(sdir, 'seed.sql')) ? 'seed.sql' : null);
    const mdir = path.join(sdir, 'migrations');
    const migrations = fs.existsSync(mdir)
      ? fs
          .readdirSync(mdir)
          .filter((f) => /^\d+-.*\.(sql|js|mjs)$/.test(f))
          .sort()
          .map((f) => {
            if (!f.endsWith('.sql')) throw new Error(`bench: ${name}/migrations/${f}: only SQL migrations are driven through Kysely and umzug here`);
            return { version: Number(f.split('-')[0]), name: f.replace(/\.sql$/, ''), sql: fs.readFileSync(path.join(mdir, f), 'utf8') };
          })
      : [];
    out.push({
      name,
      file: json.file,
      version,
      minVersion,
      schema: read('schema.sql'),
      oldestSchema: read(oldestRel),
      seed: seedRel ? read(seedRel) : null,
      migrations,
      legacy: { renames: json.legacy?.renames ?? [], dropIndexes: json.legacy?.dropIndexes ?? [], deadTables: json.legacy?.deadTables ?? [] },
      legacySamples: (json.legacy?.samples ?? []).map((rel) => read(rel)),
      connection: json.connection ?? {
        busy_timeout: 5000,
        journal_mode: 'WAL',
        synchronous: 'NORMAL',
        foreign_keys: 'ON',
        cache_size: -64000,
        mmap_size: 268435456,
        temp_store: 'MEMORY',
      },
    });
  }
  return out;
}

/** Splits a SQL script into statements (quotes and comments respected; no triggers here). */
function splitSql(text) {
  const out = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '-' && text[i + 1] === '-') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
      cur += '\n';
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
      continue;
    }
    if (c === "'" || c === '"' || c === '`' || c === '[') {
      const close = c === '[' ? ']' : c;
      let j = i + 1;
      for (;;) {
        if (j >= text.length) break;
        if (text[j] === close) {
          if (close !== ']' && text[j + 1] === close) j += 2;
          else break;
        } else j++;
      }
      cur += text.slice(i, j + 1);
      i = j;
      continue;
    }
    if (c === ';') {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

const q = (name) => `"${name.replace(/"/g, '""')}"`;

/** Sample rows valid at every version of objects (v1 columns only). */
const OBJECTS_ROWS_V1 = `
INSERT INTO db_client VALUES ('c1', 2, '{"a":1}');
INSERT INTO db_agent_definitions (id, slug, name, provider, description, created_at) VALUES
  ('a1', 'coder', 'Coder', 'anthropic', 'd1', 11), ('a2', 'rev', 'Reviewer', 'openai', '', 22);
INSERT INTO db_agent_content VALUES ('a1', 'prompt', 'hello');
INSERT INTO db_agent_skills VALUES ('s1', 'a1', 'tests', 'x');
INSERT INTO db_agent_history (agent_id, started_at, summary) VALUES ('a1', 5, 'run');
INSERT INTO db_identity_bundles VALUES ('i1', 'github', 'octo');
INSERT INTO db_agent_identity_links VALUES ('a1', 'i1');
INSERT INTO db_memory_bundles VALUES ('m1', 'notes', 'remember', 0);
INSERT INTO db_drone_definitions VALUES ('d1', 'nightly', '{}', 1);
INSERT INTO db_drone_runs VALUES ('r1', 'd1', 'queued', NULL, NULL);
`;

// ---------------------------------------------------------------------------------------------
// What the other tools run: the same SQL, as a user of Kysely or umzug would write it.
// ---------------------------------------------------------------------------------------------

/** The object a CREATE statement makes: { type, name } (null for anything else). */
function createdObject(stmt) {
  const m = /^\s*CREATE\s+(?:UNIQUE\s+)?(?:TEMP(?:ORARY)?\s+)?(TABLE|INDEX|VIEW|TRIGGER)\s+(?:IF\s+NOT\s+EXISTS\s+)?("(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\]|[A-Za-z_][\w$]*)/i.exec(stmt);
  if (!m) return null;
  let name = m[2];
  if (/^["`[]/.test(name)) name = name.slice(1, -1).replace(/""/g, '"');
  return { type: m[1].toLowerCase(), name };
}

/**
 * Migration 001 of every store for the other tools: on a file without tables, create the oldest
 * schema; on a file with tables (user_version 0: written before versioning), adopt it with the
 * store's legacy rules — the same statements `stores` runs for a legacy file.
 * `db` runs statements: { run(sql), all(sql) } (async for Kysely, sync wrapped for umzug).
 */
async function createOrAdopt(db, store, file, ignore = () => false) {
  const objects = async () => {
    const rows = await db.all("SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'");
    return new Map(rows.filter((r) => !ignore(r.name)).map((r) => [r.name.toLowerCase(), r.type]));
  };
  let present = await objects();
  if (![...present.values()].includes('table')) {
    for (const s of splitSql(store.oldestSchema)) await db.run(s);
    return;
  }
  for (const r of store.legacy.renames) {
    if (present.has(r.from.toLowerCase()) && !present.has(r.to.toLowerCase())) {
      await db.run(`ALTER TABLE ${q(r.from)} RENAME TO ${q(r.to)}`);
      present = await objects();
    }
  }
  for (const ix of store.legacy.dropIndexes) if (present.get(ix.toLowerCase()) === 'index') await db.run(`DROP INDEX ${q(ix)}`);
  const dead = store.legacy.deadTables.filter((t) => present.get(t.toLowerCase()) === 'table');
  let withRows = false;
  for (const t of dead) if ((await db.all(`SELECT 1 AS x FROM ${q(t)} LIMIT 1`)).length > 0) withRows = true;
  if (withRows) backup(file);
  for (const t of dead) await db.run(`DROP TABLE ${q(t)}`);
  present = await objects();
  for (const s of splitSql(store.oldestSchema)) {
    const o = createdObject(s);
    if (o && !present.has(o.name.toLowerCase())) await db.run(s);
  }
}

let BetterSqlite3 = null;
async function sqlite() {
  BetterSqlite3 ??= (await import('better-sqlite3')).default;
  return BetterSqlite3;
}

/** A consistent copy beside the file before dropping tables that hold rows, as `stores` takes. */
function backup(file) {
  const target = `${file}.backup-${new Date().toISOString().replace(/[-:.]/g, '')}`;
  const reader = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    reader.exec(`VACUUM INTO '${target.replace(/'/g, "''")}.partial'`);
  } finally {
    reader.close();
  }
  fs.renameSync(`${target}.partial`, target);
}

async function openWithSettings(file, store) {
  const Database = await sqlite();
  const db = new Database(file);
  for (const [k, v] of Object.entries(store.connection)) db.pragma(`${k} = ${v}`);
  return db;
}

const MIGRATION_001 = '001-create-or-adopt';

/** The migration names of a store for the other tools, in order, with their version. */
function toolMigrations(store) {
  return [{ name: MIGRATION_001, version: store.minVersion }, ...store.migrations.map((m) => ({ name: m.name, version: m.version, sql: m.sql }))];
}

/** Brings every store of `dir` up with Kysely's Migrator (to the last migration, or to `to`). */
async function kyselyDir(registry, dir, to = null) {
  const { Kysely, Migrator, SqliteDialect, sql } = await import('kysely');
  fs.mkdirSync(dir, { recursive: true });
  for (const store of registry) {
    const file = path.join(dir, store.file);
    const database = await openWithSettings(file, store);
    const db = new Kysely({ dialect: new SqliteDialect({ database }) });
    try {
      const exec = (kdb) => ({
        run: (s) => sql.raw(s).execute(kdb),
        all: async (s) => (await sql.raw(s).execute(kdb)).rows,
      });
      const migrations = {};
      for (const m of toolMigrations(store)) {
        migrations[m.name] = {
          up: m.sql === undefined
            ? (kdb) => createOrAdopt(exec(kdb), store, file, (n) => n.startsWith('kysely_'))
            : async (kdb) => {
                for (const s of splitSql(m.sql)) await sql.raw(s).execute(kdb);
              },
        };
      }
      const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
      const target = to === null ? null : toolMigrations(store).filter((m) => m.version <= to).at(-1)?.name;
      const { error, results } = target ? await migrator.migrateTo(target) : await migrator.migrateToLatest();
      if (error) throw error;
      if (results.length > 0 && store.seed && to === null) for (const s of splitSql(store.seed)) await sql.raw(s).execute(db);
    } finally {
      await db.destroy();
    }
  }
}

/** Brings every store of `dir` up with umzug, its state in PRAGMA user_version. */
async function umzugDir(registry, dir) {
  const { Umzug } = await import('umzug');
  fs.mkdirSync(dir, { recursive: true });
  for (const store of registry) {
    const file = path.join(dir, store.file);
    const db = await openWithSettings(file, store);
    try {
      const list = toolMigrations(store);
      const version = new Map(list.map((m) => [m.name, m.version]));
      const sync = { run: (s) => db.exec(s), all: (s) => db.prepare(s).all() };
      const umzug = new Umzug({
        migrations: list.map((m) => ({
          name: m.name,
          up: m.sql === undefined ? ({ context }) => createOrAdopt(sync, store, file) : async ({ context }) => context.exec(m.sql),
        })),
        context: db,
        storage: {
          executed: async ({ context }) => {
            const uv = context.pragma('user_version', { simple: true });
            return list.filter((m) => m.version <= uv).map((m) => m.name);
          },
          logMigration: async ({ name, context }) => {
            context.pragma(`user_version = ${version.get(name)}`);
          },
          unlogMigration: async ({ name, context }) => {
            context.pragma(`user_version = ${version.get(name) - 1}`);
          },
        },
        logger: undefined,
      });
      const ran = await umzug.up();
      if (ran.length > 0 && store.seed) db.exec(store.seed);
    } finally {
      db.close();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Child processes: the baselines and the other tools, each as a process of its own.
// ---------------------------------------------------------------------------------------------

async function child(kind, args) {
  const registry = readRegistry();
  if (kind === 'raw-scan') {
    // A raw single-threaded scan: walk the root, and per store file open, user_version, schema, close.
    const Database = await sqlite();
    const names = new Set(registry.map((s) => s.file));
    let files = 0;
    const walk = (dir) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isFile() && names.has(e.name)) {
          const db = new Database(p);
          db.pragma('user_version', { simple: true });
          db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema').all();
          db.close();
          files++;
        }
      }
    };
    walk(args[0]);
    process.stdout.write(`${files} files\n`);
    if (files === 0) process.exitCode = 1;
    return;
  }
  const dirs = JSON.parse(fs.readFileSync(args[0], 'utf8'));
  if (kind === 'raw-create') {
    // Raw sequential creation from the baselines, with the stores' connection settings.
    const Database = await sqlite();
    for (const dir of dirs) {
      fs.mkdirSync(dir, { recursive: true });
      for (const store of registry) {
        const db = new Database(path.join(dir, store.file));
        for (const [k, v] of Object.entries(store.connection)) db.pragma(`${k} = ${v}`);
        db.exec('BEGIN');
        db.exec(store.schema);
        if (store.seed) db.exec(store.seed);
        db.pragma(`user_version = ${store.version}`);
        db.exec('COMMIT');
        db.close();
      }
    }
    return;
  }
  if (kind === 'kysely') {
    for (const dir of dirs) await kyselyDir(registry, dir);
    return;
  }
  if (kind === 'umzug') {
    for (const dir of dirs) await umzugDir(registry, dir);
    return;
  }
  throw new Error(`bench: unknown child kind ${kind}`);
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv.slice(4));
} else if (process.argv[2] === '--render') {
  // Redraw a chart from a results file: --render [results.json] [out.svg]
  const results = process.argv[3] ?? path.join(HERE, 'bench-results.json');
  const out = process.argv[4] ?? path.join(PKG, 'docs', 'bench.svg');
  fs.writeFileSync(out, svg(JSON.parse(fs.readFileSync(results, 'utf8'))));
} else {
  await main();
}

// ---------------------------------------------------------------------------------------------
// The orchestrator.
// ---------------------------------------------------------------------------------------------

async function main() {
  if (!fs.existsSync(DIST_INDEX)) throw new Error(`${DIST_INDEX} not found: run \`npx tsc -p .\` (or npm run build) first`);
  const QUICK = /^(1|true|yes)$/i.test(process.env.BENCH_QUICK ?? '');
  const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim())) : null;
  const want = (id) => !ONLY || ONLY.has(id);
  const KEEP = /^(1|true|yes)$/i.test(process.env.BENCH_KEEP ?? '');
  const P = QUICK
    ? { checkSmall: 100, checkLarge: 500, checkSmallReps: 2, checkLargeReps: 2, create: 20, createReps: 2, noop: 50, noopReps: 2, upgrade: 20, upgradeReps: 2, warmup: 0 }
    : { checkSmall: 1000, checkLarge: 10000, checkSmallReps: 5, checkLargeReps: 3, create: 200, createReps: 5, noop: 1000, noopReps: 5, upgrade: 200, upgradeReps: 5, warmup: 1 };
  const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
  const started = Date.now();
  const log = (s) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);

  const { loadRegistry, openStores } = await import(pathToFileURL(DIST_INDEX).href);
  const Database = await sqlite();
  const registry = readRegistry();
  const storesRegistry = await loadRegistry(STORES);
  const byName = Object.fromEntries(registry.map((s) => [s.name, s]));
  const work = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'stores-bench-fleet-'));
  const listFile = path.join(work, 'dirs.json');
  const rssFile = path.join(work, 'rss.txt');
  log(`fleets under ${work}${QUICK ? ' (BENCH_QUICK)' : ''}`);

  // ------------------------------------------------------------------ templates
  const tpl = path.join(work, 'tpl');
  const T = {}; // flavour -> state -> { file name -> template path }
  const setWal = (file) => {
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.close();
  };
  /** A store file from SQL, in a transaction, WAL mode (as a host with these settings leaves it). */
  const writeSql = (file, sql, userVersion) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec('BEGIN');
    db.exec(sql);
    db.pragma(`user_version = ${userVersion}`);
    db.exec('COMMIT');
    db.close();
  };
  const objects = byName.objects;
  {
    // stores (and umzug, whose state is user_version: the very same files)
    const cur = path.join(tpl, 'stores-current');
    const s = await openStores(storesRegistry, cur);
    await s.close();
    T.stores = { current: Object.fromEntries(registry.map((st) => [st.file, path.join(cur, st.file)])) };
    for (const v of [1, 2, 3].filter((x) => x >= objects.minVersion && x < objects.version)) {
      const f = path.join(tpl, `stores-v${v}`, objects.file);
      writeSql(f, objects.oldestSchema + objects.migrations.filter((m) => m.version <= v).map((m) => m.sql).join('\n') + OBJECTS_ROWS_V1, v);
      T.stores[`v${v}`] = { ...T.stores.current, [objects.file]: f };
    }
    const leg = path.join(tpl, 'legacy');
    T.stores.legacy = {};
    for (const st of registry) {
      const f = path.join(leg, st.file);
      writeSql(f, st.legacySamples[0], 0);
      T.stores.legacy[st.file] = f;
    }
    // Kysely: its fleets are what Kysely itself leaves (its kysely_migration tables included).
    const kcur = path.join(tpl, 'kysely-current');
    await kyselyDir(registry, kcur);
    T.kysely = { current: Object.fromEntries(registry.map((st) => [st.file, path.join(kcur, st.file)])), legacy: T.stores.legacy };
    for (const v of [1, 2, 3].filter((x) => x >= objects.minVersion && x < objects.version)) {
      const d = path.join(tpl, `kysely-v${v}`);
      await kyselyDir([objects], d, v);
      const db = new Database(path.join(d, objects.file));
      db.exec(OBJECTS_ROWS_V1);
      db.close();
      T.kysely[`v${v}`] = { ...T.kysely.current, [objects.file]: path.join(d, objects.file) };
    }
    T.umzug = T.stores;
    for (const f of fs.readdirSync(tpl, { recursive: true })) {
      const p = path.join(tpl, f);
      if (p.endsWith('-wal') || p.endsWith('-shm')) throw new Error(`bench: template left ${p}`);
    }
  }
  const behindStates = Object.keys(T.stores).filter((k) => /^v\d+$/.test(k));

  /** `count` data dirs under `root` (`1.N.0/shard-NNNNN/`), each from `stateOf(i)` templates. */
  const dirNames = (root, count) => Array.from({ length: count }, (_, i) => path.join(root, `1.${i % 4}.0`, `shard-${String(i).padStart(5, '0')}`));
  const buildFleet = (root, count, flavour, stateOf) => {
    const dirs = dirNames(root, count);
    dirs.forEach((dir, i) => {
      fs.mkdirSync(dir, { recursive: true });
      for (const [name, src] of Object.entries(T[flavour][stateOf(i)])) fs.copyFileSync(src, path.join(dir, name));
    });
    return dirs;
  };
  const rm = (p) => fs.rmSync(p, { recursive: true, force: true });
  const sync = () => spawnSync('sync');

  // ------------------------------------------------------------------ running processes
  const allOther = [];
  /** CPU seconds spent by the whole machine so far (all cores, /proc/stat), or null. */
  const HZ = 100;
  const machineBusy = () => {
    try {
      const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
      return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / HZ; // user nice system irq softirq steal
    } catch {
      return null;
    }
  };
  /**
   * Runs one process; returns { s, rssMB, user, sys, otherCpu }. stdout goes to /dev/null.
   * otherCpu: cores kept busy meanwhile by anything but the measured process (background noise).
   */
  const runProc = (argv, expectCode = 0) => {
    const cmd = TIME ? TIME : process.execPath;
    const args = TIME ? ['-f', '%M %U %S', '-o', rssFile, process.execPath, ...argv] : argv;
    const busy0 = machineBusy();
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { cwd: PKG, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20 });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const busy1 = machineBusy();
    if (r.status !== expectCode) throw new Error(`bench: ${argv.join(' ').slice(0, 300)} exited ${r.status} (expected ${expectCode}): ${r.stderr || r.error}`);
    let rssMB = null;
    let user = null;
    let sys = null;
    if (TIME) {
      const last = fs.readFileSync(rssFile, 'utf8').trim().split('\n').at(-1).split(' ');
      rssMB = Number(last[0]) / 1024;
      user = Number(last[1]);
      sys = Number(last[2]);
    }
    const otherCpu = busy0 === null || user === null ? null : Math.max(0, (busy1 - busy0 - user - sys) / s);
    if (otherCpu !== null) allOther.push(otherCpu);
    return { s, rssMB, user, sys, otherCpu };
  };
  const self = fileURLToPath(import.meta.url);
  const cmd = {
    storesCheck: (root) => [CLI, 'check', '--root', root, '--stores', STORES, '--json'],
    storesUpRoot: (root, conc) => [CLI, 'up', '--root', root, '--stores', STORES, '--json', ...(conc ? ['--concurrency', String(conc)] : [])],
    storesUpDirs: (dirs) => [CLI, 'up', ...dirs, '--stores', STORES, '--json'],
    rawScan: (root) => [self, '--child', 'raw-scan', root],
    child: (kind, dirs) => {
      fs.writeFileSync(listFile, JSON.stringify(dirs));
      return [self, '--child', kind, listFile];
    },
  };

  /** Every store file of `dirs` is at its target, as its tool records it. */
  const validate = (dirs, flavour) => {
    for (const dir of dirs) {
      for (const st of registry) {
        const f = path.join(dir, st.file);
        const db = new Database(f, { readonly: true, fileMustExist: true });
        try {
          if (flavour === 'kysely') {
            const n = db.prepare('SELECT count(*) AS n FROM kysely_migration').get().n;
            if (n !== toolMigrations(st).length) throw new Error(`bench: ${f}: kysely_migration holds ${n} rows, expected ${toolMigrations(st).length}`);
          } else {
            const uv = db.pragma('user_version', { simple: true });
            if (uv !== st.version) throw new Error(`bench: ${f}: user_version ${uv}, expected ${st.version} (${flavour})`);
          }
          if (st.name === objects.name) {
            const has = db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name IN ('db_agents', 'db_memory_bundles')").get().n;
            const blank = db.prepare("SELECT count(*) AS n FROM db_memory_bundles WHERE id = 'blank'").get().n;
            if (has !== 2 || blank !== 1) throw new Error(`bench: ${f}: not at the latest schema with its seed row (${flavour})`);
          }
        } finally {
          db.close();
        }
      }
    }
  };

  /**
   * Measures variants interleaved: per repetition, each variant in a rotated order, with its
   * `prepare` (untimed) before and `after` (untimed) after. Returns samples per variant.
   */
  const measure = (label, variants, reps, warmup = 0) => {
    const samples = Object.fromEntries(variants.map((v) => [v.id, []]));
    for (let r = -warmup; r < reps; r++) {
      const order = variants.map((_, i) => variants[(i + Math.max(r, 0)) % variants.length]);
      for (const v of order) {
        const ctx = v.prepare ? v.prepare() : undefined;
        sync();
        const m = runProc(v.argv(ctx), v.expect ?? 0);
        v.after?.(ctx, r);
        if (r >= 0) samples[v.id].push(m);
        log(
          `${label}: ${v.id}${r < 0 ? ' (warm-up)' : ` #${r + 1}`} ${m.s.toFixed(3)} s` +
            (m.rssMB !== null ? `, cpu ${(m.user + m.sys).toFixed(2)} s, ${m.rssMB.toFixed(0)} MB peak RSS` : '') +
            (m.otherCpu !== null ? `, other load ${m.otherCpu.toFixed(2)} cores` : ''),
        );
      }
    }
    return samples;
  };
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const n = s.length;
    return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  };
  const summary = (ms) => ({
    median: median(ms.map((m) => m.s)),
    min: Math.min(...ms.map((m) => m.s)),
    max: Math.max(...ms.map((m) => m.s)),
    n: ms.length,
    runs: ms.map((m) => +m.s.toFixed(4)),
    rssMB: ms[0]?.rssMB === null ? null : median(ms.map((m) => m.rssMB)),
    cpuS: ms[0]?.user === null ? null : median(ms.map((m) => m.user + m.sys)),
    otherCpu: ms[0]?.otherCpu === null ? null : median(ms.map((m) => m.otherCpu)),
  });

  const rows = [];
  const workloads = {};
  /** One comparison. subject/baseline: a number, or a summary (its median, with its CPU time). */
  const row = (workload, tool, subject, baselineName, baseline, target, targetKind, unit = 's', note = undefined) => {
    const value = typeof subject === 'number' ? subject : subject.median;
    const baselineValue = typeof baseline === 'number' ? baseline : baseline.median;
    const cpu = typeof subject === 'number' ? null : subject.cpuS;
    const baselineCpu = typeof baseline === 'number' ? null : baseline.cpuS;
    const loads = [subject, baseline].map((x) => (typeof x === 'number' ? null : x.otherCpu)).filter((x) => x !== null && x !== undefined);
    const otherLoad = loads.length ? Math.max(...loads) : null;
    const ratio = value / baselineValue;
    const met = target === null ? null : targetKind === '<' ? ratio < target : ratio <= target;
    rows.push({ workload, tool, value, unit, baseline: baselineName, baselineValue, ratio, target, targetKind, met, cpuS: cpu, baselineCpuS: baselineCpu, otherLoad, ...(note ? { note } : {}) });
  };

  // ------------------------------------------------------------------ 1 + 5. check, peak RSS
  if (want('check') || want('rss')) {
    const results = {};
    for (const [size, reps] of [
      [P.checkSmall, P.checkSmallReps],
      [P.checkLarge, P.checkLargeReps],
    ]) {
      const root = path.join(work, `check-${size}`);
      const t0 = Date.now();
      buildFleet(root, size, 'stores', () => 'current');
      log(`check: built ${size} current data dirs (${size * registry.length} files) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const label = `check ${size}`;
      const samples = measure(
        label,
        [
          { id: 'stores', argv: () => cmd.storesCheck(root) },
          { id: 'raw', argv: () => cmd.rawScan(root) },
        ],
        reps,
        size <= 1000 ? P.warmup : 0,
      );
      results[size] = { stores: summary(samples.stores), raw: summary(samples.raw) };
      const left = fs.readdirSync(root, { recursive: true }).filter((f) => /-(wal|shm)$/.test(f));
      if (left.length > 0) throw new Error(`bench: check left ${left.length} -wal/-shm files under ${root}`);
      if (!KEEP) rm(root);
    }
    workloads.check = { dirs: [P.checkSmall, P.checkLarge], filesPerDir: registry.length, results };
    const name = (n) => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));
    if (want('check')) {
      for (const size of [P.checkSmall, P.checkLarge]) {
        const r = results[size];
        row(`check ${name(size)} dirs`, 'stores check', r.stores, 'raw scan (1 thread)', r.raw, 1.0, '<=');
      }
    }
    if (TIME) {
      const small = results[P.checkSmall].stores.rssMB;
      const large = results[P.checkLarge].stores.rssMB;
      row(`peak RSS, check ${name(P.checkLarge)} vs ${name(P.checkSmall)} dirs`, 'stores check', large, `check ${name(P.checkSmall)} dirs`, small, 1.2, '<=', 'MB');
    }
  }

  // ------------------------------------------------------------------ 2 + 6. create
  if (want('create')) {
    const root = path.join(work, 'create');
    const dirs = dirNames(root, P.create);
    const fresh = () => {
      rm(root);
      return dirs;
    };
    const check = (flavour) => (ctx, r) => {
      if (r <= 0) validate(dirs, flavour);
      rm(root);
    };
    const samples = measure(
      `create ${P.create}`,
      [
        { id: 'stores', prepare: fresh, argv: () => cmd.storesUpDirs(dirs), after: check('stores') },
        { id: 'raw', prepare: fresh, argv: () => cmd.child('raw-create', dirs), after: check('raw') },
        { id: 'kysely', prepare: fresh, argv: () => cmd.child('kysely', dirs), after: check('kysely') },
        { id: 'umzug', prepare: fresh, argv: () => cmd.child('umzug', dirs), after: check('umzug') },
      ],
      P.createReps,
      P.warmup,
    );
    const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summary(v)]));
    workloads.create = { dirs: P.create, results: s };
    const w = `create ${P.create} dirs`;
    row(w, 'stores up', s.stores, 'raw create (1 thread)', s.raw, 0.8, '<=');
    row(w, 'stores up', s.stores, 'Kysely Migrator', s.kysely, 1.0, '<');
    row(w, 'stores up', s.stores, 'umzug', s.umzug, 1.0, '<');
  }

  // ------------------------------------------------------------------ 6. no-op
  if (want('noop')) {
    const rootS = path.join(work, 'noop-stores');
    const rootK = path.join(work, 'noop-kysely');
    const dirsS = buildFleet(rootS, P.noop, 'stores', () => 'current');
    const dirsK = buildFleet(rootK, P.noop, 'kysely', () => 'current');
    const samples = measure(
      `no-op ${P.noop}`,
      [
        { id: 'stores', argv: () => cmd.storesUpRoot(rootS) },
        { id: 'kysely', argv: () => cmd.child('kysely', dirsK) },
        { id: 'umzug', argv: () => cmd.child('umzug', dirsS) },
      ],
      P.noopReps,
      P.warmup,
    );
    validate(dirsS, 'stores');
    validate(dirsK, 'kysely');
    if (!KEEP) {
      rm(rootS);
      rm(rootK);
    }
    const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summary(v)]));
    workloads.noop = { dirs: P.noop, results: s };
    const w = `no-op ${P.noop >= 1000 ? `${P.noop / 1000}k` : P.noop} current dirs`;
    row(w, 'stores up', s.stores, 'Kysely Migrator', s.kysely, 1.0, '<');
    row(w, 'stores up', s.stores, 'umzug', s.umzug, 1.0, '<');
  }

  // ------------------------------------------------------------------ 3 + 6. upgrade, adopt
  for (const kind of ['upgrade', 'adopt']) {
    if (!want(kind)) continue;
    const stateOf = kind === 'upgrade' ? (i) => behindStates[i % behindStates.length] : () => 'legacy';
    const root = path.join(work, kind);
    const fleet = (flavour) => () => {
      rm(root);
      return buildFleet(root, P.upgrade, flavour, stateOf);
    };
    const done = (flavour) => (dirs, r) => {
      if (r <= 0) validate(dirs, flavour);
      if (kind === 'adopt' && r <= 0) {
        const backups = fs.readdirSync(root, { recursive: true }).filter((f) => /\.backup-\d/.test(f)).length;
        if (backups !== P.upgrade) throw new Error(`bench: ${kind} (${flavour}) left ${backups} backups, expected ${P.upgrade}`);
      }
      rm(root);
    };
    const samples = measure(
      `${kind} ${P.upgrade}`,
      [
        { id: 'stores', prepare: fleet('stores'), argv: () => cmd.storesUpRoot(root), after: done('stores') },
        { id: 'stores-c1', prepare: fleet('stores'), argv: () => cmd.storesUpRoot(root, 1), after: done('stores') },
        { id: 'kysely', prepare: fleet('kysely'), argv: (dirs) => cmd.child('kysely', dirs), after: done('kysely') },
        { id: 'umzug', prepare: fleet('umzug'), argv: (dirs) => cmd.child('umzug', dirs), after: done('umzug') },
      ],
      P.upgradeReps,
      P.warmup,
    );
    const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summary(v)]));
    workloads[kind] = { dirs: P.upgrade, states: kind === 'upgrade' ? behindStates : ['legacy'], results: s };
    const w = kind === 'upgrade' ? `upgrade ${P.upgrade} behind dirs` : `adopt ${P.upgrade} legacy dirs`;
    row(w, 'stores up', s.stores, 'stores up --concurrency 1', s['stores-c1'], 1.0, '<');
    row(w, 'stores up', s.stores, 'Kysely Migrator', s.kysely, 1.0, '<');
    row(w, 'stores up', s.stores, 'umzug', s.umzug, 1.0, '<');
  }

  // ------------------------------------------------------------------ 4. boot
  let boot = null;
  if (want('boot')) {
    if (fs.existsSync(BOOT_BENCH)) {
      log('boot: scripts/bench-boot.mjs');
      const env = QUICK ? { BENCH_REPS: '60', BENCH_WARMUP: '10', BENCH_PROC_REPS: '5', BENCH_REG_REPS: '10', ...process.env } : process.env;
      const r = spawnSync(process.execPath, [BOOT_BENCH], { cwd: PKG, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 << 20 });
      if (r.status !== 0) throw new Error(`bench: bench-boot.mjs exited ${r.status}`);
      const lines = r.stdout.trim().split('\n');
      process.stderr.write(lines.slice(0, -1).map((l) => `  ${l}`).join('\n') + '\n');
      boot = { source: 'scripts/bench-boot.mjs', ...JSON.parse(lines.at(-1)) };
      row('boot, current dir, in process', 'openStores + close', boot.inProcess.openStores.median, 'raw open + read', boot.inProcess.raw.median, boot.target ?? 1.5, '<=', 'µs', 'raw: open, user_version, sqlite_schema, close, ×3');
      row('boot, whole process', 'stores boot', boot.process.openStores.median / 1e6, 'raw', boot.process.raw.median / 1e6, null, '<=', 's', 'node + loadRegistry + openStores + close vs node + better-sqlite3 raw; no target');
    } else {
      log('boot: scripts/bench-boot.mjs absent, measuring here');
      const dir = path.join(work, 'boot');
      const s0 = await openStores(storesRegistry, dir);
      await s0.close();
      const files = registry.map((st) => path.join(dir, st.file));
      const raw = () => {
        for (const f of files) {
          const db = new Database(f);
          db.pragma('user_version', { simple: true });
          db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema').all();
          db.close();
        }
      };
      const open = async () => (await openStores(storesRegistry, dir)).close();
      const a = [];
      const b = [];
      const reps = QUICK ? 50 : 300;
      for (let i = -20; i < reps; i++) {
        let t = process.hrtime.bigint();
        raw();
        const ra = Number(process.hrtime.bigint() - t) / 1e3;
        t = process.hrtime.bigint();
        await open();
        const rb = Number(process.hrtime.bigint() - t) / 1e3;
        if (i >= 0) {
          a.push(ra);
          b.push(rb);
        }
      }
      boot = { source: 'bench-fleet.mjs', raw: median(a), openStores: median(b), reps };
      row('boot, current dir, in process', 'openStores + close', boot.openStores, 'raw open + read', boot.raw, 1.5, '<=', 'µs', 'raw: open, user_version, sqlite_schema, close, ×3');
    }
  }

  if (!KEEP) rm(work);

  // ------------------------------------------------------------------ report
  const cpu = os.cpus();
  const pkgJson = JSON.parse(fs.readFileSync(path.join(PKG, 'package.json'), 'utf8'));
  const version = (name) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(PKG, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return null;
    }
  };
  const mem = new Database(':memory:');
  const sqliteVersion = mem.prepare('SELECT sqlite_version() AS v').get().v;
  mem.close();
  const machine = {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
  };
  const result = {
    bench: 'fleet',
    date: new Date().toISOString(),
    quick: QUICK,
    durationS: Math.round((Date.now() - started) / 1000),
    machine,
    loadavg: os.loadavg(),
    otherLoad: allOther.length ? { median: +median(allOther).toFixed(3), max: +Math.max(...allOther).toFixed(3), unit: 'cores busy with other processes during the measured runs' } : null,
    versions: { stores: pkgJson.version, 'better-sqlite3': version('better-sqlite3'), sqlite: sqliteVersion, kysely: version('kysely'), umzug: version('umzug') },
    method:
      'Whole processes spawned one at a time (stdout to /dev/null), variants interleaved in rotated order, `sync` before each run, fleets rebuilt from template files before each write run; value = median wall time; ratio = value ÷ baseline value, both medians of the same run. Peak RSS from GNU time %M. stores runs with its default concurrency (one worker thread per core) unless noted.',
    rows,
    workloads,
    boot,
  };
  const outJson = path.join(HERE, QUICK ? 'bench-results.quick.json' : 'bench-results.json');
  const outSvg = path.join(PKG, 'docs', QUICK ? 'bench.quick.svg' : 'bench.svg');
  fs.writeFileSync(outJson, `${JSON.stringify(result, null, 2)}\n`);
  fs.mkdirSync(path.dirname(outSvg), { recursive: true });
  fs.writeFileSync(outSvg, svg(result));

  const fmt = (v, unit) => (unit === 's' ? `${v.toFixed(3)} s` : unit === 'MB' ? `${v.toFixed(0)} MB` : unit === 'µs' ? `${v.toFixed(0)} µs` : String(v));
  const table = [['workload', 'tool', 'median', 'baseline', 'baseline median', 'ratio', 'target', 'met?', 'cpu s (tool / baseline)', 'other load']];
  for (const r of rows) {
    table.push([
      r.workload,
      r.tool,
      fmt(r.value, r.unit),
      r.baseline,
      fmt(r.baselineValue, r.unit),
      `${r.ratio.toFixed(2)}×`,
      r.target === null ? '—' : `${r.targetKind === '<' ? '<' : '≤'} ${r.target.toFixed(2)}×`,
      r.met === null ? '—' : r.met ? 'yes' : 'NO',
      r.cpuS === null || r.cpuS === undefined ? '' : `${r.cpuS.toFixed(2)} / ${r.baselineCpuS.toFixed(2)}`,
      r.otherLoad === null || r.otherLoad === undefined ? '' : `${r.otherLoad.toFixed(2)}${r.otherLoad > 0.25 ? ' busy' : ''}`,
    ]);
  }
  const widths = table[0].map((_, i) => Math.max(...table.map((t) => t[i].length)));
  const line = (t) => t.map((c, i) => (i === 2 || i === 4 || i === 5 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [
    `stores fleet bench — ${result.date}${QUICK ? ' (BENCH_QUICK)' : ''}`,
    `${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, ${machine.os}, Node ${machine.node}; better-sqlite3 ${result.versions['better-sqlite3']} (SQLite ${sqliteVersion}), kysely ${result.versions.kysely}, umzug ${result.versions.umzug}`,
    `medians of whole processes (wall time); ratio = median ÷ baseline median (same run); cpu s = median user+sys of the process, all threads;` +
      ` other load = cores kept busy by other processes during those runs (median; "busy" above 0.25: that row is noisy)` +
      (result.otherLoad ? `; other processes kept ${result.otherLoad.median.toFixed(2)} cores busy during the runs (median; max ${result.otherLoad.max.toFixed(2)})` : ''),
    ...(result.otherLoad && result.otherLoad.median > 0.25 ? ['WARNING: the machine was busy with other work during this run; the figures are noisy — run again on a quiet machine'] : []),
    '',
    line(table[0]),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...table.slice(1).map(line),
    '',
    `${rows.filter((r) => r.met === true).length} of ${rows.filter((r) => r.met !== null).length} targets met; ${path.relative(PKG, outJson)}, ${path.relative(PKG, outSvg)}; ${result.durationS} s`,
  ];
  process.stdout.write(out.join('\n') + '\n');
}

// ---------------------------------------------------------------------------------------------
// The chart: one bar per comparison, its length the ratio, the target marked; hand-written SVG.
// ---------------------------------------------------------------------------------------------

function svg(result) {
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const rows = result.rows;
  const W = 1040;
  const labelW = 440;
  const barX = labelW + 12;
  const valueW = 230;
  const barW = W - barX - valueW - 16;
  const rowH = 26;
  const top = 108;
  const H = top + rows.length * rowH + 74;
  const maxRatio = Math.max(2, ...rows.map((r) => r.ratio), ...rows.map((r) => r.target ?? 0));
  const scale = Math.min(4, Math.ceil(maxRatio * 2) / 2);
  const x = (ratio) => barX + (Math.min(ratio, scale) / scale) * barW;
  const fmt = (v, unit) => (unit === 's' ? `${v.toFixed(2)} s` : unit === 'MB' ? `${v.toFixed(0)} MB` : unit === 'µs' ? `${v.toFixed(0)} µs` : String(v));
  const m = result.machine;
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<defs><clipPath id="labels"><rect x="0" y="0" width="${barX - 6}" height="${H}"/></clipPath></defs>`);
  parts.push(`<text x="16" y="26" font-size="16" font-weight="600" fill="#111">stores benchmark${result.quick ? ' (quick run)' : ''}: each figure as a ratio to its baseline, lower is better</text>`);
  parts.push(`<text x="16" y="46" fill="#444">${esc(result.date.slice(0, 16).replace('T', ' '))} UTC · ${esc(m.cpu)} · ${m.cores} cores · ${m.memGiB} GiB · Node ${esc(m.node)} · ${esc(m.os)}</text>`);
  parts.push(`<text x="16" y="64" fill="#444">better-sqlite3 ${esc(result.versions['better-sqlite3'])} (SQLite ${esc(result.versions.sqlite)}) · kysely ${esc(result.versions.kysely)} · umzug ${esc(result.versions.umzug)} · medians of whole processes, each against a baseline measured in the same run</text>`);
  if (result.otherLoad) {
    const busy = result.otherLoad.median > 0.25;
    parts.push(`<text x="16" y="82" fill="${busy ? '#c62828' : '#444'}">other processes kept ${result.otherLoad.median.toFixed(2)} cores busy during the runs (median)${busy ? ': a busy machine, noisy figures' : ''}</text>`);
  }
  for (let g = 0; g <= scale + 1e-9; g += 0.5) {
    const gx = x(g);
    parts.push(`<line x1="${gx.toFixed(1)}" y1="${top - 6}" x2="${gx.toFixed(1)}" y2="${top + rows.length * rowH}" stroke="${g === 1 ? '#9a9a9a' : '#e6e6e6'}" stroke-width="1"/>`);
    parts.push(`<text x="${gx.toFixed(1)}" y="${top - 10}" text-anchor="middle" fill="#666" font-size="11">${g.toFixed(1)}×</text>`);
  }
  parts.push(`<text x="${W - 16}" y="${top - 10}" text-anchor="end" fill="#666" font-size="11">ratio (median vs baseline median)</text>`);
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const colour = r.met === null ? '#8a8a8a' : r.met ? '#2e7d32' : '#c62828';
    if (i % 2 === 0) parts.push(`<rect x="8" y="${y}" width="${W - 16}" height="${rowH}" fill="#f6f6f6"/>`);
    const busy = r.otherLoad !== null && r.otherLoad !== undefined && r.otherLoad > 0.25 ? '  ⚠ busy machine' : '';
    parts.push(`<text x="16" y="${y + 17}" fill="#111" clip-path="url(#labels)"><tspan font-weight="600">${esc(r.workload)}</tspan><tspan fill="#555"> · ${esc(r.tool)} vs ${esc(r.baseline)}</tspan><tspan fill="#c62828" font-size="11">${busy}</tspan></text>`);
    parts.push(`<rect x="${barX}" y="${y + 6}" width="${Math.max(1, x(r.ratio) - barX).toFixed(1)}" height="${rowH - 12}" fill="${colour}" rx="2"/>`);
    if (r.ratio > scale) parts.push(`<text x="${(x(scale) - 4).toFixed(1)}" y="${y + 17}" text-anchor="end" fill="#fff" font-size="11">▶</text>`);
    if (r.target !== null) {
      const tx = x(r.target);
      parts.push(`<line x1="${tx.toFixed(1)}" y1="${y + 2}" x2="${tx.toFixed(1)}" y2="${y + rowH - 2}" stroke="#111" stroke-width="2" stroke-dasharray="3,2"/>`);
    }
    const target = r.target === null ? '' : ` (${r.targetKind === '<' ? '<' : '≤'} ${r.target.toFixed(2)})`;
    parts.push(`<text x="${W - 16}" y="${y + 17}" text-anchor="end" fill="${colour}"><tspan font-weight="600">${r.ratio.toFixed(2)}×</tspan><tspan fill="#555"> ${esc(fmt(r.value, r.unit))} vs ${esc(fmt(r.baselineValue, r.unit))}${esc(target)}</tspan></text>`);
  });
  const ly = top + rows.length * rowH + 24;
  parts.push(`<rect x="16" y="${ly - 10}" width="12" height="12" fill="#2e7d32"/><text x="34" y="${ly}" fill="#333">target met</text>`);
  parts.push(`<rect x="120" y="${ly - 10}" width="12" height="12" fill="#c62828"/><text x="138" y="${ly}" fill="#333">target not met</text>`);
  parts.push(`<rect x="248" y="${ly - 10}" width="12" height="12" fill="#8a8a8a"/><text x="266" y="${ly}" fill="#333">no target</text>`);
  parts.push(`<line x1="350" y1="${ly - 10}" x2="350" y2="${ly + 2}" stroke="#111" stroke-width="2" stroke-dasharray="3,2"/><text x="358" y="${ly}" fill="#333">target</text>`);
  parts.push(`<text x="16" y="${ly + 22}" fill="#666" font-size="11">stores runs with one worker thread per core unless noted; the raw baselines, Kysely and umzug run one data dir after another, as they naturally do; each tool is a process of its own.</text>`);
  parts.push(`<text x="16" y="${ly + 38}" fill="#666" font-size="11">scripts/bench-fleet.mjs${result.quick ? ' (BENCH_QUICK)' : ''}, ${result.durationS} s; figures in scripts/bench-results${result.quick ? '.quick' : ''}.json</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
