#!/usr/bin/env node
/**
 * `npm run demo`: a guided tour of `stores` on a small, realistic fleet of data dirs.
 *
 * 1. Builds ./demo-fleet/ from the shipped registry's own SQL files (better-sqlite3 directly,
 *    never through the CLI): legacy, behind, current, missing, empty, too-new, corrupt,
 *    drifted, conflicting and foreign store files.
 * 2. Runs the real CLI (dist/bundle/main.js) on it, step by step, with stdio inherited so its
 *    colours and tables show as they would in your terminal.
 * 3. Checks every exit code (and a few facts about the files) against what the contract says,
 *    so the demo doubles as a smoke test: it exits 0 when everything behaved as expected and
 *    1 with a clear message otherwise.
 *
 * Colour: only when stdout is a terminal and NO_COLOR is unset (https://no-color.org).
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const PKG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STORES = path.join(PKG, 'stores');
const CLI = path.join(PKG, 'dist', 'bundle', 'main.js');
const CWD = process.cwd();
const FLEET_NAME = 'demo-fleet';
const FLEET = path.join(CWD, FLEET_NAME);

// ---------------------------------------------------------------------------------------------
// Narration
// ---------------------------------------------------------------------------------------------

const COLOR = process.stdout.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
const SGR = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, gray: 90 };
const paint = (colour, text) => (COLOR ? `\u001b[${SGR[colour]}m${text}\u001b[0m` : text);
/**
 * Narration is written synchronously, so it never races the CLI's own output on the shared
 * terminal or pipe (process.stdout is asynchronous on pipes on some platforms).
 */
function writeOut(fd, text) {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err; // a full non-blocking pipe (e.g. | less): wait, retry
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}
const say = (text = '') => writeOut(1, `${text}\n`);
const WIDTH = Math.min(process.stdout.columns || 80, 96);
const rule = (ch = '─') => ch.repeat(WIDTH);

/** Splits text into lines that fit the terminal width after an indent. */
function wrap(text, indent) {
  const lines = [];
  let line = '';
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (line && indent + line.length + 1 + w.length > WIDTH) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines;
}

/** Prints prose wrapped to the terminal width, with an indent. */
function prose(text, indent = '  ', colour = null) {
  for (const l of wrap(text, indent.length)) say(indent + (colour ? paint(colour, l) : l));
}

/** A marked line (✓ / ✗) whose continuation lines hang under its text. */
function marked(mark, text) {
  wrap(text, 4).forEach((l, i) => say(`${i === 0 ? `  ${mark} ` : '    '}${l}`));
}

function banner(title) {
  say(paint('cyan', rule('━')));
  say(paint('bold', `  ${title}`));
  say(paint('cyan', rule('━')));
}

let stepNo = 0;
function step(title, why) {
  stepNo++;
  say();
  say(paint('cyan', rule()));
  say(paint('bold', `  Step ${stepNo}. ${title}`));
  say(paint('cyan', rule()));
  for (const p of [].concat(why)) {
    prose(p);
    say();
  }
}

const ok = (text) => marked(paint('green', '✓'), text);
const note = (text) => prose(text, '  ', 'gray');

// ---------------------------------------------------------------------------------------------
// Failure: the demo is also a smoke test
// ---------------------------------------------------------------------------------------------

const failures = [];
function expect(cond, message) {
  if (!cond) {
    failures.push(message);
    marked(paint('red', '✗'), `unexpected: ${message}`);
  }
  return cond;
}
function abort(message) {
  writeOut(2, `\n${paint('red', 'demo failed:')} ${message}\n`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// The CLI
// ---------------------------------------------------------------------------------------------

const EXIT_MEANING = {
  0: 'everything is current',
  1: 'unexpected failure',
  2: 'usage or registry error, nothing was touched',
  3: 'something needs up/adopt, nothing is refused',
  4: 'at least one store is refused and needs a human',
};

/** Extra CLI arguments when the demo does not run from the package root (the registry lives there). */
const STORES_ARGS = path.resolve(CWD, 'stores') === STORES ? [] : ['--stores', path.relative(CWD, STORES) || '.'];

function ensureBuilt() {
  const srcDir = path.join(PKG, 'src');
  let reason = null;
  if (!fs.existsSync(CLI)) reason = 'dist/bundle/main.js is missing';
  else if (fs.existsSync(srcDir)) {
    const built = fs.statSync(CLI).mtimeMs;
    const newer = fs
      .readdirSync(srcDir, { recursive: true })
      .filter((f) => String(f).endsWith('.ts'))
      .find((f) => fs.statSync(path.join(srcDir, String(f))).mtimeMs > built);
    if (newer) reason = `src/${newer} is newer than dist/`;
  }
  if (!reason) return;
  note(`Building the CLI first (${reason}): npm run build`);
  const r = spawnSync('npm', ['run', 'build'], { cwd: PKG, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0 || !fs.existsSync(CLI)) abort(`the build failed (npm run build exited ${r.status ?? r.signal}); fix it, then run npm run demo again`);
}

/** Runs the CLI with the terminal inherited, prints its exit code and checks it. */
function run(args, expected, meanings = {}) {
  const shown = ['stores', ...args, ...STORES_ARGS].join(' ');
  say(`  ${paint('bold', '$')} ${paint('bold', shown)}`);
  say();
  const r = spawnSync(process.execPath, [CLI, ...args, ...STORES_ARGS], { cwd: CWD, stdio: 'inherit', env: process.env });
  if (r.error) abort(`could not run ${shown}: ${r.error.message}`);
  const code = r.status ?? -1;
  const meaning = meanings[code] ?? EXIT_MEANING[code] ?? (r.signal ? `killed by ${r.signal}` : 'not a code of the contract');
  say();
  const colour = code === expected ? (code === 0 ? 'green' : code === 3 ? 'yellow' : 'magenta') : 'red';
  say(`  ${paint(colour, `→ exit ${code}`)}: ${meaning}${code === expected ? paint('gray', '  (as expected)') : ''}`);
  expect(code === expected, `\`${shown}\` exited ${code} (${meaning}); expected ${expected} (${meanings[expected] ?? EXIT_MEANING[expected]})`);
  return code;
}

/** Runs the CLI with --json, quietly, for the demo's own checks. */
function runJson(args) {
  const r = spawnSync(process.execPath, [CLI, ...args, ...STORES_ARGS, '--json'], {
    cwd: CWD,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    return { code: r.status, report: JSON.parse(r.stdout) };
  } catch {
    abort(`stores ${args.join(' ')} --json did not print JSON (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  }
}

/** `{ "1.3.0/objects": "legacy", … }` from a report, relative to the fleet. */
function statuses(report, key = 'status') {
  const out = {};
  for (const d of report.dirs) {
    for (const s of d.stores) out[`${path.relative(FLEET, d.path) || '.'}/${s.name}`] = s[key];
  }
  return out;
}

function compare(label, actual, expected) {
  const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  const wrong = keys.filter((k) => actual[k] !== expected[k]).map((k) => `${k}: ${actual[k] ?? 'absent'} (expected ${expected[k] ?? 'absent'})`);
  if (expect(wrong.length === 0, `${label}: ${wrong.join('; ')}`)) ok(`${label}: all ${keys.length} stores as expected`);
}

// ---------------------------------------------------------------------------------------------
// Building the fleet from the registry's own SQL
// ---------------------------------------------------------------------------------------------

const readStore = (rel) => fs.readFileSync(path.join(STORES, rel), 'utf8');
const storeJson = (name) => JSON.parse(readStore(`${name}/store.json`));

function writeDb(file, build) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    build(db);
  } finally {
    db.close();
  }
}

/** An objects.db at version v (1 ≤ v ≤ target), written the way released binaries did: rows, then later steps. */
function objectsAt(file, v, rowsSql) {
  const meta = storeJson('objects');
  writeDb(file, (db) => {
    if (v === meta.version) {
      db.exec(readStore('objects/schema.sql'));
      db.exec(rowsSql);
      db.exec(BACKFILL_AGENTS);
    } else {
      db.exec(readStore(`objects/${meta.oldestSchema}`));
      db.exec(rowsSql);
      const steps = fs
        .readdirSync(path.join(STORES, 'objects', 'migrations'))
        .map((f) => ({ f, n: Number.parseInt(f, 10) }))
        .filter((m) => m.n > meta.minVersion && m.n <= v)
        .sort((a, b) => a.n - b.n);
      for (const m of steps) {
        if (!m.f.endsWith('.sql')) abort(`the demo replays SQL migrations only; objects/migrations/${m.f} is not one`);
        db.exec(readStore(`objects/migrations/${m.f}`));
      }
    }
    if (meta.seed) db.exec(readStore(`objects/${meta.seed}`));
    db.pragma(`user_version = ${v}`);
  });
}

/** A current filestore.db / sagas.db (their baseline, stamped), with some rows. */
function currentStore(name, file, rowsSql) {
  const meta = storeJson(name);
  writeDb(file, (db) => {
    db.exec(readStore(`${name}/schema.sql`));
    db.exec(rowsSql);
    db.pragma(`user_version = ${meta.version}`);
  });
}

/** A legacy (never stamped) file from a sample of the registry. */
function legacyFile(file, sampleRel) {
  writeDb(file, (db) => {
    db.exec(readStore(sampleRel));
    db.pragma('user_version = 0');
  });
}

/** Rows valid at every version of objects (v1 columns only). */
const OBJECTS_ROWS = `
INSERT INTO db_client VALUES ('c1', 2, '{"name":"laptop"}');
INSERT INTO db_workspace VALUES ('ws1', 1, '{"name":"main"}');
INSERT INTO db_agent_definitions (id, slug, name, provider, description, created_at) VALUES
  ('a1', 'coder', 'Coder', 'anthropic', 'writes code', 1710000000),
  ('a2', 'reviewer', 'Reviewer', 'openai', '', 1710000100);
INSERT INTO db_agent_content VALUES ('a1', 'prompt', 'You write code.');
INSERT INTO db_agent_skills VALUES ('s1', 'a1', 'tests', 'run the tests');
INSERT INTO db_agent_history (agent_id, started_at, summary) VALUES ('a1', 1710001000, 'first run');
INSERT INTO db_identity_bundles VALUES ('i1', 'github', 'octocat');
INSERT INTO db_agent_identity_links VALUES ('a1', 'i1');
INSERT INTO db_memory_bundles VALUES ('m1', 'notes', 'remember this', 0);
INSERT INTO db_drone_definitions VALUES ('d1', 'nightly', '{"cron":"0 3 * * *"}', 1710000000);
INSERT INTO db_drone_runs VALUES ('r1', 'd1', 'succeeded', 1710003000, 1710003060);
`;
/** What migration 004 does for rows already there, for files written straight at v4. */
const BACKFILL_AGENTS = `INSERT INTO db_agents (id, definition_id, slug, name, provider, user_hidden, created_at, updated_at)
  SELECT id, id, slug, name, provider, user_hidden, created_at, updated_at FROM db_agent_definitions;`;
const FILESTORE_ROWS = `
INSERT INTO wave_file VALUES ('z1', 'notes.md', 5, 1710000000, 1710000001, '{}', '{"mime":"text/markdown"}');
INSERT INTO file_data VALUES ('z1', 'notes.md', 0, X'6E6F746573');
`;
const SAGAS_ROWS = `
INSERT INTO saga VALUES ('g1', 'deploy', 'done', '{"env":"prod"}', 1710000000, 1710000005);
INSERT INTO saga_step VALUES ('g1', 0, 'build', 'done', '{"ok":true}', 1710000001);
`;

function currentDir(dir, { objects = true, filestore = true, sagas = true } = {}) {
  if (objects) objectsAt(path.join(dir, 'objects.db'), storeJson('objects').version, OBJECTS_ROWS);
  if (filestore) currentStore('filestore', path.join(dir, 'filestore.db'), FILESTORE_ROWS);
  if (sagas) currentStore('sagas', path.join(dir, 'sagas.db'), SAGAS_ROWS);
}

/** The fleet, and what each store of it is (and what `check` must say after the tour). */
function buildFleet() {
  fs.rmSync(FLEET, { recursive: true, force: true });
  fs.mkdirSync(FLEET, { recursive: true });
  const at = (...p) => path.join(FLEET, ...p);
  const objectsTarget = storeJson('objects').version;

  // 1.3.0: written before versioning. Every file is legacy (user_version 0).
  legacyFile(at('1.3.0', 'objects.db'), 'objects/legacy/forge-era.sql');
  legacyFile(at('1.3.0', 'filestore.db'), `filestore/${storeJson('filestore').legacy.samples[0]}`);
  legacyFile(at('1.3.0', 'sagas.db'), `sagas/${storeJson('sagas').legacy.samples[0]}`);

  // 1.4.2: objects at v2 (rows written at v1, then migration 002), the others current.
  objectsAt(at('1.4.2', 'objects.db'), 2, OBJECTS_ROWS);
  currentDir(at('1.4.2'), { objects: false });

  // 1.5.0: the live version, sharded. shard-001 lost its objects.db and has a zero-byte sagas.db.
  currentDir(at('1.5.0', 'shard-000'));
  currentDir(at('1.5.0', 'shard-001'), { objects: false, sagas: false });
  fs.writeFileSync(at('1.5.0', 'shard-001', 'sagas.db'), '');

  // 1.6.0-rollback: 1.6.0 was rolled back, but its newer binary had already stamped objects.db 7.
  writeDb(at('1.6.0-rollback', 'objects.db'), (db) => {
    db.exec(readStore('objects/schema.sql'));
    db.exec('CREATE TABLE db_agent_runs (id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, started_at INTEGER NOT NULL); -- a table of v5..v7');
    db.exec(OBJECTS_ROWS);
    db.exec(BACKFILL_AGENTS);
    db.pragma('user_version = 7');
  });
  currentDir(at('1.6.0-rollback'), { objects: false });

  // broken: a filestore.db that is a text file, and an objects.db stamped v4 that lost an index.
  fs.mkdirSync(at('broken'), { recursive: true });
  fs.writeFileSync(
    at('broken', 'filestore.db'),
    '2024-03-11T09:12:44Z ERROR filestore: flush failed, dumping state\n' +
      'zone=z1 name=notes.md parts=1\n(someone redirected a log into the wrong file)\n',
  );
  objectsAt(at('broken', 'objects.db'), objectsTarget, OBJECTS_ROWS);
  writeDb(at('broken', 'objects.db'), (db) => db.exec('DROP INDEX idx_agents_definition'));
  currentStore('sagas', at('broken', 'sagas.db'), SAGAS_ROWS);

  // conflict: a legacy objects.db that somebody half-migrated by hand: both the old and new table.
  writeDb(at('conflict', 'objects.db'), (db) => {
    db.exec(readStore('objects/legacy/forge-era.sql'));
    db.exec(`CREATE TABLE db_agent_definitions (
      id TEXT PRIMARY KEY, slug TEXT NOT NULL DEFAULT '', name TEXT NOT NULL, provider TEXT NOT NULL,
      description TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL DEFAULT 0);
      INSERT INTO db_agent_definitions (id, slug, name, provider) VALUES ('a9', 'hand-made', 'Hand made', 'local');`);
    db.pragma('user_version = 0');
  });
  currentDir(at('conflict'), { objects: false });

  // other-app: another program's database that happens to be called objects.db.
  writeDb(at('other-app', 'objects.db'), (db) => {
    db.exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT);
      CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), total_cents INTEGER NOT NULL);
      INSERT INTO customers VALUES (1, 'ada@example.com', 'Ada'), (2, 'alan@example.com', 'Alan');
      INSERT INTO invoices VALUES (1, 1, 4200), (2, 2, 1300);`);
    db.pragma('user_version = 0');
  });
}

const FLEET_TOUR = [
  ['1.3.0/', 'legacy ×3', 'forge era: written before versioning'],
  ['1.4.2/', 'behind', 'objects.db at v2, with rows'],
  ['1.5.0/shard-000/', 'current ×3', 'the live version'],
  ['1.5.0/shard-001/', 'missing, empty', 'no objects.db; a zero-byte sagas.db'],
  ['1.6.0-rollback/', 'too-new', 'objects.db v7, written by a newer binary'],
  ['broken/', 'corrupt, drift', 'text filestore.db; objects.db lost an index'],
  ['conflict/', 'conflict', 'legacy, with old AND new agents tables'],
  ['other-app/', 'foreign', "another program's objects.db"],
];

const BEFORE = {
  '1.3.0/objects': 'legacy',
  '1.3.0/filestore': 'legacy',
  '1.3.0/sagas': 'legacy',
  '1.4.2/objects': 'behind',
  '1.4.2/filestore': 'current',
  '1.4.2/sagas': 'current',
  '1.5.0/shard-000/objects': 'current',
  '1.5.0/shard-000/filestore': 'current',
  '1.5.0/shard-000/sagas': 'current',
  '1.5.0/shard-001/objects': 'missing',
  '1.5.0/shard-001/filestore': 'current',
  '1.5.0/shard-001/sagas': 'empty',
  '1.6.0-rollback/objects': 'too-new',
  '1.6.0-rollback/filestore': 'current',
  '1.6.0-rollback/sagas': 'current',
  'broken/objects': 'drift',
  'broken/filestore': 'corrupt',
  'broken/sagas': 'current',
  'conflict/objects': 'conflict',
  'conflict/filestore': 'current',
  'conflict/sagas': 'current',
  'other-app/objects': 'foreign',
  'other-app/filestore': 'missing',
  'other-app/sagas': 'missing',
};
const REFUSED = ['1.6.0-rollback/objects', 'broken/objects', 'broken/filestore', 'conflict/objects', 'other-app/objects'];
const AFTER = Object.fromEntries(Object.keys(BEFORE).map((k) => [k, REFUSED.includes(k) ? BEFORE[k] : 'current']));

/** SHA-256 of a store file and of each companion beside it. */
function fingerprint(rel) {
  const file = path.join(FLEET, `${rel}.db`); // every store of the registry is <name>.db
  return ['', '-wal', '-shm', '-journal']
    .map((suffix) => {
      const p = file + suffix;
      return `${suffix || 'main'}=${fs.existsSync(p) ? crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex') : '-'}`;
    })
    .join(' ');
}

/** Reads a store file through a throw-away copy, so the demo itself never touches the fleet. */
function peek(rel, fn) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stores-demo-'));
  try {
    const copy = path.join(tmp, path.basename(rel));
    fs.copyFileSync(path.join(FLEET, rel), copy);
    if (fs.existsSync(path.join(FLEET, `${rel}-wal`))) fs.copyFileSync(path.join(FLEET, `${rel}-wal`), `${copy}-wal`);
    const db = new Database(copy);
    try {
      return fn(db);
    } finally {
      db.close();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
const count = (db, table) => db.prepare(`SELECT count(*) AS n FROM "${table}"`).get().n;
const tableExists = (db, table) => db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(table) !== undefined;
const backupsIn = (rel) => fs.readdirSync(path.join(FLEET, rel)).filter((f) => /\.backup-/.test(f));

// ---------------------------------------------------------------------------------------------
// The tour
// ---------------------------------------------------------------------------------------------

banner('stores — a guided tour');
say();
prose(
  'stores keeps the SQLite files of an application (objects.db, filestore.db, sagas.db) correct across versions: it creates, migrates and adopts what it safely can, and refuses — without writing a byte — what needs a human.',
);
prose(`This tour builds a small fleet of data dirs under ./${FLEET_NAME}/ and runs the real CLI on it.`);
say();

ensureBuilt();

step('Build a demo fleet', [
  `A host keeps one data dir per application version, sometimes split into shards. We build one in ./${FLEET_NAME}/ (deleted and rebuilt on every run; it is git-ignored) straight from the SQL files in stores/, with better-sqlite3 — the CLI plays no part in it:`,
]);
buildFleet();
const nameW = Math.max(...FLEET_TOUR.map((r) => r[0].length)) + 2;
say(paint('gray', `  ${FLEET_NAME}/`));
for (const [dir, statusText, what] of FLEET_TOUR) say(`    ${paint('bold', dir.padEnd(nameW))}${paint('yellow', statusText.padEnd(16))}${what}`);
say();
const initial = runJson(['check', '--root', FLEET_NAME]);
compare('the fleet is built as described', statuses(initial.report), BEFORE);
const untouched = Object.fromEntries(REFUSED.map((k) => [k, fingerprint(k)]));

step('Audit the fleet: stores check', [
  'check is read-only: it opens nothing for writing and leaves no -wal/-shm files behind, so it is safe on a live host and in monitoring. It prints one line per store with its status and what to do.',
  'Exit code 4 means at least one store needs a human; 3 would mean "run up/adopt", 0 "all current".',
]);
run(['check', '--root', FLEET_NAME], 4);

step('Preview one upgrade: stores up --dry-run', [
  `${FLEET_NAME}/1.4.2/objects.db is at v2. A dry run prints the plan — the SQL each store would run, in order, migration files and seed rows included — and writes nothing. Exit 3: there is work for up.`,
]);
run(['up', `${FLEET_NAME}/1.4.2`, '--dry-run'], 3);
compare('the dry run wrote nothing', statuses(runJson(['check', '--root', FLEET_NAME]).report), BEFORE);

step('Adopt the legacy files: stores adopt', [
  'Files written before versioning have user_version 0. adopt recognises the legacy layout, renames tables to their new names, drops leftover indexes and dead tables, completes the v1 schema and then migrates to the current version — all in one transaction per file.',
  'Dead tables still hold rows, so a consistent backup is written beside the file first. Every other file is reported and left alone: adopt only ever touches legacy files.',
  'Exit 4 again: the fleet still holds refused files (adopt lists them but never touches them). Without those it would be 3: the behind, missing and empty stores are left for up.',
]);
run(['adopt', '--root', FLEET_NAME], 4);
{
  const afterAdopt = statuses(runJson(['check', '--root', FLEET_NAME]).report);
  const expected = { ...BEFORE, '1.3.0/objects': 'current', '1.3.0/filestore': 'current', '1.3.0/sagas': 'current' };
  compare('only the legacy files changed', afterAdopt, expected);
  const backups = backupsIn('1.3.0');
  if (expect(backups.length > 0, 'adopt took no backup of 1.3.0/objects.db although its dead tables hold rows')) {
    ok(`backup beside the file: ${FLEET_NAME}/1.3.0/${backups[0]}`);
  }
  const rows = peek('1.3.0/objects.db', (db) => ({
    definitions: count(db, 'db_agent_definitions'),
    agents: count(db, 'db_agents'),
    skills: count(db, 'db_agent_skills'),
    history: count(db, 'db_agent_history'),
    drones: count(db, 'db_drone_runs'),
    dead: ['db_workflow_runs', 'db_workflow_definitions', 'db_v10_migrated_legacy_defs'].filter((t) => tableExists(db, t)),
    version: db.pragma('user_version', { simple: true }),
  }));
  if (
    expect(
      rows.version === 4 && rows.definitions === 3 && rows.agents === 3 && rows.skills === 2 && rows.history === 2 && rows.drones === 2 && rows.dead.length === 0,
      `1.3.0/objects.db after adopt: ${JSON.stringify(rows)} (expected v4, 3 definitions and 3 db_agents rows, 2 skills, 2 history rows, 2 drone runs, no dead tables)`,
    )
  ) {
    ok(`1.3.0/objects.db is v${rows.version}: its 3 agents, 2 skills, 2 history rows and 2 drone runs survived; db_agents was backfilled; dead tables are gone`);
  }
}

step('Bring everything else up to date: stores up', [
  'up reconciles every store it can — migrates 1.4.2/objects.db from v2, creates the missing objects.db of shard-001, initializes its zero-byte sagas.db — and refuses the rest, each store on its own: one bad file never stops the others.',
  'Refused files (too-new, corrupt, drift, conflict, foreign) are not changed by a single byte; "Needs attention" at the end says what to do about each. Exit 4: some stores need a human.',
]);
run(['up', '--root', FLEET_NAME], 4);
note(
  'Note: other-app/ now also holds a fresh filestore.db and sagas.db: to stores, any directory that directly holds one store file is a data dir. In real life, point --root at your data root only.',
);

step('Explain a drift: stores diff', [
  `${FLEET_NAME}/broken/objects.db says it is v4, but its schema is not what v4 must be. diff compares it with v4 by meaning (not by SQL text) and lists what is missing, extra or changed. Exit 3: there are differences.`,
  'up never guesses here: `stores up --repair` can add what is missing (it never drops anything); a human decides.',
]);
run(['diff', `${FLEET_NAME}/broken/objects.db`], 3, { 0: 'no difference', 3: 'the file differs from what its version must be' });

step('Audit again: stores check', [
  'Everything stores could do safely is done. What is left is exactly the five files that need a decision by a person — and they are byte-for-byte as they were.',
]);
run(['check', '--root', FLEET_NAME], 4);
compare('final statuses', statuses(runJson(['check', '--root', FLEET_NAME]).report), AFTER);
{
  const changed = REFUSED.filter((k) => fingerprint(k) !== untouched[k]);
  if (expect(changed.length === 0, `refused files were modified: ${changed.join(', ')}`)) ok(`the ${REFUSED.length} refused files are byte-for-byte unchanged (with their -wal/-shm)`);
}

// ---------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------

say();
banner('What happened');
const lines = [
  ['check', `audited ${initial.report.summary.stores} stores in ${initial.report.summary.dirs} data dirs, writing nothing (exit 4)`],
  ['up --dry-run', 'printed the SQL taking 1.4.2/objects.db from v2 to v4 (exit 3)'],
  ['adopt', 'adopted the 3 legacy files of 1.3.0, with a backup (exit 4)'],
  ['up', 'migrated, created, initialized; refused 5 files untouched (exit 4)'],
  ['diff', 'broken/objects.db lacks the index idx_agents_definition (exit 3)'],
  ['check', 'needs a human: too-new, drift, corrupt, conflict, foreign (exit 4)'],
];
for (const [cmd, what] of lines) say(`  ${paint('bold', cmd.padEnd(14))}${what}`);
say();
prose('Exit codes: 0 current · 3 needs up/adopt · 4 refused, needs a human · 2 usage/registry error · 1 unexpected failure.');
say();
say('  Poke around:');
say(`    ls ${FLEET_NAME}/*`);
say(`    node dist/bundle/main.js check --root ${FLEET_NAME} --json`);
say(`    node dist/bundle/main.js --help`);
say(`    npm run demo     ${paint('gray', `# rebuilds ${FLEET_NAME}/ from scratch`)}`);
say();
prose('Read README.md next: the registry format, every status and what to do about it, and the library API hosts call at boot (openStores).');
say();

if (failures.length > 0) {
  writeOut(2, `${paint('red', `demo failed: ${failures.length} unexpected result${failures.length === 1 ? '' : 's'}`)}\n`);
  for (const f of failures) writeOut(2, `  - ${f}\n`);
  process.exit(1);
}
say(paint('green', '  Demo finished: every command behaved as the contract says.'));
