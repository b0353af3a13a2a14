/**
 * The CLI as users and scripts see it: the built `dist/bundle/main.js` (the `stores` executable)
 * spawned as a separate process against real SQLite files in temporary directories. Exit codes,
 * `--json`, and the promise that refusals, dry runs and `check` leave every byte where it was.
 *
 * Run `npm run build` first: these tests spawn the built CLI.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CLI,
  OBJECTS_ROWS_V1,
  STORES,
  cli,
  fingerprint,
  query,
  registry,
  store,
  storesFile,
  tmpDir,
  userVersion,
  writeAt,
  writeSql,
  type CliResult,
} from './helpers.js';
import type { Registry } from '../src/types.js';

// ---------------------------------------------------------------------------------------------
// Small helpers local to this file

const FILES = ['filestore.db', 'objects.db', 'sagas.db'] as const;
const STACK_FRAME = /^\s+at /m;

interface JsonStore {
  name: string;
  file: string;
  status: string;
  version: number | null;
  target: number;
  action?: string;
  from?: number | null;
  to?: number | null;
  backup: string | null;
  message: string;
  ms: number;
  plan?: { kind: string; sql: string; comment: string }[];
}
interface JsonReport {
  registry: { name: string; file: string; version: number; minVersion: number }[];
  dirs: { path: string; stores: JsonStore[] }[];
  summary: { dirs: number; stores: number; byStatus: Record<string, number>; byAction?: Record<string, number> };
}

/** Parses stdout as exactly one JSON document (JSON.parse fails on anything else around it). */
function json<T = JsonReport>(r: CliResult): T {
  const text = r.stdout.trim();
  expect(text.startsWith('{'), `stdout is not a JSON document:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(true);
  return JSON.parse(text) as T;
}

function entry(report: JsonReport, dir: string, name: string): JsonStore {
  const d = report.dirs.find((x) => x.path === dir);
  if (!d) throw new Error(`no dir ${dir} in report: ${report.dirs.map((x) => x.path).join(', ')}`);
  const s = d.stores.find((x) => x.name === name);
  if (!s) throw new Error(`no store ${name} in ${dir}`);
  return s;
}

/** Sorted file names in a directory (what "creates no file" is checked against). */
function listing(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

/** Fingerprints of every file in a directory (name → sha of it and its companions). */
function dirPrint(dir: string): Record<string, Record<string, string | null>> {
  const out: Record<string, Record<string, string | null>> = {};
  for (const f of listing(dir)) out[f] = fingerprint(path.join(dir, f));
  return out;
}

/** A usage error: exit 2, a one-line-ish message on stderr, no stack trace, nothing on stdout. */
function expectUsage(r: CliResult, message: RegExp): void {
  expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).toMatch(/^stores: /);
  expect(r.stderr).not.toMatch(STACK_FRAME);
  expect(r.stdout).toBe('');
}

/** A usage/registry error under --json: one `{error:{code,message}}` document on stdout, exit 2. */
function expectJsonError(r: CliResult, code: string, message: RegExp): void {
  expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(2);
  const doc = json<{ error: { code: string; message: string } }>(r);
  expect(doc.error.code).toBe(code);
  expect(doc.error.message).toMatch(message);
  expect(r.stdout).not.toMatch(STACK_FRAME);
  expect(r.stderr).not.toMatch(STACK_FRAME);
}

let reg: Registry;

beforeAll(async () => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npx tsc -p .\` before these tests`);
  reg = await registry();
});

/** A data dir holding filestore.db and sagas.db current, and objects.db as `objects` makes it. */
function dirWith(objects: ((file: string) => void) | null): string {
  const d = path.join(tmpDir(), 'data');
  writeAt(store(reg, 'filestore'), path.join(d, 'filestore.db'), 1);
  writeAt(store(reg, 'sagas'), path.join(d, 'sagas.db'), 1);
  if (objects) objects(path.join(d, 'objects.db'));
  return d;
}

const legacyObjects = (file: string) => writeSql(file, storesFile('objects/legacy/forge-era.sql'), 0);

// ---------------------------------------------------------------------------------------------

describe('exit codes', () => {
  it('check exits 0 on a data dir that up made current, and changes nothing', () => {
    const d = path.join(tmpDir(), 'data');
    const up = cli(['up', d]);
    expect(up.code, up.stderr).toBe(0);
    const before = dirPrint(d);
    const r = cli(['check', d]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(d);
    expect(r.stdout).toMatch(/3 current/);
    expect(dirPrint(d)).toEqual(before);
  });

  it('check exits 3 when stores are missing (an empty dir), and creates nothing', () => {
    const d = tmpDir();
    const r = cli(['check', d]);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stdout).toMatch(/3 missing/);
    expect(listing(d)).toEqual([]);
  });

  it('check exits 3 when one store is behind and the rest current', () => {
    const d = dirWith((f) => writeAt(store(reg, 'objects'), f, 2, OBJECTS_ROWS_V1));
    const r = cli(['check', d, '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(json(r).summary.byStatus).toEqual({ current: 2, behind: 1 });
  });

  it('check exits 3 when a store is legacy', () => {
    const d = dirWith(legacyObjects);
    const r = cli(['check', d, '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(json(r).summary.byStatus).toEqual({ current: 2, legacy: 1 });
  });

  it('check exits 4 on a too-new file (user_version above the target)', () => {
    const d = tmpDir();
    const file = path.join(d, 'objects.db');
    writeSql(file, 'CREATE TABLE t (x)', 9);
    const before = fingerprint(file);
    const r = cli(['check', d]);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stdout).toMatch(/too-new/);
    expect(r.stdout).toMatch(/v9/);
    expect(fingerprint(file)).toEqual(before);
  });

  it('check and up exit 4 on a corrupt file (text named objects.db) and leave its bytes alone', () => {
    const d = tmpDir();
    const file = path.join(d, 'objects.db');
    fs.writeFileSync(file, 'this is not a SQLite database, just some text\n'.repeat(5));
    const before = fingerprint(file);
    const check = cli(['check', d]);
    expect(check.code, check.stdout + check.stderr).toBe(4);
    expect(check.stdout).toMatch(/corrupt/);
    const up = cli(['up', d, '--json']);
    expect(up.code, up.stdout + up.stderr).toBe(4);
    const s = entry(json(up), d, 'objects');
    expect(s.status).toBe('corrupt');
    expect(s.action).toBe('refused');
    expect(fingerprint(file)).toEqual(before);
    // one bad file never stops the others
    expect(entry(json(up), d, 'sagas').action).toBe('created');
    expect(fs.existsSync(path.join(d, 'sagas.db'))).toBe(true);
  });
});

describe('usage errors (exit 2, clear message, no stack trace, nothing touched)', () => {
  it('unknown command', () => {
    expectUsage(cli(['frobnicate']), /frobnicate/);
  });

  it('no command at all', () => {
    expectUsage(cli([]), /command/);
  });

  it('no data dir and no --root', () => {
    expectUsage(cli(['check']), /data dir or --root/);
    expectUsage(cli(['up']), /data dir or --root/);
  });

  it('--root that does not exist', () => {
    const missing = path.join(tmpDir(), 'nope');
    expectUsage(cli(['check', '--root', missing]), /--root .*nope.*no such directory/);
    expectUsage(cli(['up', '--root', missing]), /no such directory/);
    expect(fs.existsSync(missing)).toBe(false);
  });

  it('check (and adopt) on a data dir that does not exist, without creating it', () => {
    const missing = path.join(tmpDir(), 'absent');
    expectUsage(cli(['check', missing]), /absent.*no such data dir/);
    expectUsage(cli(['adopt', missing]), /no such data dir/);
    expect(fs.existsSync(missing)).toBe(false);
  });

  it('bad --concurrency, without creating the data dir', () => {
    const d = path.join(tmpDir(), 'fresh');
    for (const bad of ['0', '-1', '1.5', 'lots']) {
      expectUsage(cli(['up', d, '--concurrency', bad]), /--concurrency takes a whole number/);
    }
    expect(fs.existsSync(d)).toBe(false);
  });

  it('--stores pointing at a missing folder, without creating the data dir', () => {
    const d = path.join(tmpDir(), 'fresh');
    const r = cli(['up', d, '--stores', path.join(tmpDir(), 'no-registry')]);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(/no-registry/);
    expect(r.stderr).toMatch(/registry/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(r.stdout).toBe('');
    expect(fs.existsSync(d)).toBe(false);
  });

  it('a file given where a data dir is expected', () => {
    const f = path.join(tmpDir(), 'objects.db');
    fs.writeFileSync(f, '');
    expectUsage(cli(['up', f]), /is a file, not a data dir/);
    expect(fs.readFileSync(f, 'utf8')).toBe('');
  });

  it('with --json, usage and registry errors are one {error:{code,message}} document, exit 2', () => {
    const tmp = tmpDir();
    expectJsonError(cli(['frobnicate', '--json']), 'USAGE', /frobnicate/);
    expectJsonError(cli(['check', '--json']), 'USAGE', /data dir or --root/);
    expectJsonError(cli(['check', '--root', path.join(tmp, 'nope'), '--json']), 'USAGE', /no such directory/);
    expectJsonError(cli(['up', tmp, '--concurrency', '0', '--json']), 'USAGE', /--concurrency/);
    expectJsonError(cli(['check', tmp, '--stores', path.join(tmp, 'no-registry'), '--json']), 'REGISTRY_INVALID', /no-registry/);
    expect(listing(tmp)).toEqual([]);
  });
});

describe('--json', () => {
  it('check: one document with registry, every store of every dir (missing included), summary', () => {
    const d = path.join(tmpDir(), 'data');
    writeAt(store(reg, 'filestore'), path.join(d, 'filestore.db'), 1);
    writeAt(store(reg, 'objects'), path.join(d, 'objects.db'), 2, OBJECTS_ROWS_V1);
    // sagas.db missing
    const r = cli(['check', d, '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stderr).toBe('');
    const doc = json(r);
    expect(Object.keys(doc).sort()).toEqual(['dirs', 'registry', 'summary']);
    expect(doc.registry).toEqual([
      { name: 'filestore', file: 'filestore.db', version: 1, minVersion: 1 },
      { name: 'objects', file: 'objects.db', version: 4, minVersion: 1 },
      { name: 'sagas', file: 'sagas.db', version: 1, minVersion: 1 },
    ]);
    expect(doc.dirs).toHaveLength(1);
    expect(path.isAbsolute(doc.dirs[0]!.path)).toBe(true);
    expect(doc.dirs[0]!.path).toBe(d);
    expect(doc.dirs[0]!.stores.map((s) => s.name)).toEqual(['filestore', 'objects', 'sagas']);
    for (const s of doc.dirs[0]!.stores) {
      expect(path.isAbsolute(s.file)).toBe(true);
      expect(s.file).toBe(path.join(d, `${s.name}.db`));
      expect(typeof s.message).toBe('string');
      expect(s.message.length).toBeGreaterThan(0);
      expect(typeof s.ms).toBe('number');
      expect(s.ms).toBeGreaterThanOrEqual(0);
      expect(s.backup).toBeNull();
      expect(s.action).toBeUndefined();
    }
    expect(entry(doc, d, 'filestore')).toMatchObject({ status: 'current', version: 1, target: 1 });
    expect(entry(doc, d, 'objects')).toMatchObject({ status: 'behind', version: 2, target: 4 });
    expect(entry(doc, d, 'sagas')).toMatchObject({ status: 'missing', version: null, target: 1 });
    expect(doc.summary).toEqual({ dirs: 1, stores: 3, byStatus: { current: 1, behind: 1, missing: 1 } });
    expect(fs.existsSync(path.join(d, 'sagas.db'))).toBe(false);
  });

  it('up: action, from, to, backup for each store; status is the one found before acting', () => {
    const d = path.join(tmpDir(), 'data');
    writeAt(store(reg, 'filestore'), path.join(d, 'filestore.db'), 1);
    writeAt(store(reg, 'objects'), path.join(d, 'objects.db'), 2, OBJECTS_ROWS_V1);
    const r = cli(['up', d, '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const doc = json(r);
    expect(entry(doc, d, 'filestore')).toMatchObject({ status: 'current', action: 'unchanged', backup: null });
    expect(entry(doc, d, 'objects')).toMatchObject({ status: 'behind', version: 2, target: 4, action: 'migrated', from: 2, to: 4, backup: null });
    expect(entry(doc, d, 'sagas')).toMatchObject({ status: 'missing', version: null, action: 'created', to: 1 });
    expect(doc.summary.dirs).toBe(1);
    expect(doc.summary.stores).toBe(3);
    expect(doc.summary.byStatus).toEqual({ current: 1, behind: 1, missing: 1 });
    expect(userVersion(path.join(d, 'objects.db'))).toBe(4);
    expect(userVersion(path.join(d, 'sagas.db'))).toBe(1);
  });
});

describe('up', () => {
  it('creates the three files in a fresh dir; a second up reports every action unchanged', () => {
    const d = path.join(tmpDir(), 'nested', '1.5.0');
    const first = cli(['up', d, '--json']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const a = json(first);
    expect(a.dirs[0]!.stores.map((s) => [s.name, s.status, s.action])).toEqual([
      ['filestore', 'missing', 'created'],
      ['objects', 'missing', 'created'],
      ['sagas', 'missing', 'created'],
    ]);
    expect(listing(d)).toEqual([...FILES]);
    expect(userVersion(path.join(d, 'objects.db'))).toBe(4);
    expect(query(path.join(d, 'objects.db'), "SELECT id FROM db_memory_bundles WHERE id = 'blank'")).toHaveLength(1);

    // The store files' bytes (the files are WAL from birth: the read-only reads above leave a
    // -shm and an empty -wal, which SQLite may tidy away; they are not the store's).
    const mains = () => FILES.map((f) => fingerprint(path.join(d, f)).main);
    const before = mains();
    const second = cli(['up', d, '--json']);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    const b = json(second);
    expect(b.dirs[0]!.stores.map((s) => [s.status, s.action])).toEqual([
      ['current', 'unchanged'],
      ['current', 'unchanged'],
      ['current', 'unchanged'],
    ]);
    expect(b.summary.byAction).toEqual({ unchanged: 3 });
    expect(mains()).toEqual(before);
  });

  it('migrates v1, v2 and v3 objects.db files to v4 and keeps their rows', () => {
    const root = tmpDir();
    const dirs = [1, 2, 3].map((v) => {
      const d = path.join(root, `v${v}`);
      writeAt(store(reg, 'objects'), path.join(d, 'objects.db'), v, OBJECTS_ROWS_V1);
      return d;
    });
    const counts = (file: string) =>
      query<{ n: number }>(
        file,
        `SELECT (SELECT count(*) FROM db_client) + (SELECT count(*) FROM db_agent_definitions) * 10
              + (SELECT count(*) FROM db_agent_content) * 100 + (SELECT count(*) FROM db_agent_skills) * 1000
              + (SELECT count(*) FROM db_agent_history) * 10000 + (SELECT count(*) FROM db_drone_runs) * 100000 AS n`,
      )[0]!.n;
    const before = dirs.map((d) => counts(path.join(d, 'objects.db')));

    const r = cli(['up', ...dirs, '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const doc = json(r);
    expect(doc.dirs.map((x) => x.path)).toEqual(dirs);
    dirs.forEach((d, i) => {
      const v = i + 1;
      expect(entry(doc, d, 'objects')).toMatchObject({ status: 'behind', version: v, action: 'migrated', from: v, to: 4 });
      const file = path.join(d, 'objects.db');
      expect(userVersion(file)).toBe(4);
      expect(counts(file)).toBe(before[i]);
      expect(query(file, "SELECT data FROM db_client WHERE oid = 'c1'")).toEqual([{ data: '{"a":1}' }]);
      // v4 backfill: every definition has its db_agents row
      expect(query(file, 'SELECT id, definition_id, slug FROM db_agents ORDER BY id')).toEqual([
        { id: 'a1', definition_id: 'a1', slug: 'coder' },
        { id: 'a2', definition_id: 'a2', slug: 'rev' },
      ]);
    });

    // and now everything is current
    const check = cli(['check', ...dirs]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });

  it('with a too-new file: exits 4, leaves its bytes unchanged, still creates the other stores', () => {
    const d = tmpDir();
    const file = path.join(d, 'objects.db');
    writeAt(store(reg, 'objects'), file, 4, OBJECTS_ROWS_V1);
    const db = new Database(file);
    db.pragma('user_version = 5');
    db.close();
    const before = fingerprint(file);

    const r = cli(['up', d, '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    const doc = json(r);
    expect(entry(doc, d, 'objects')).toMatchObject({ status: 'too-new', version: 5, target: 4, action: 'refused' });
    expect(entry(doc, d, 'objects').message).toMatch(/newer/);
    expect(entry(doc, d, 'filestore').action).toBe('created');
    expect(entry(doc, d, 'sagas').action).toBe('created');
    expect(fingerprint(file)).toEqual(before);
    expect(listing(d)).toEqual([...FILES]);
    expect(userVersion(path.join(d, 'sagas.db'))).toBe(1);
  });
});

describe('--dry-run', () => {
  it('up --dry-run: exit 3, prints the SQL plan, changes no byte and creates no file', () => {
    const d = tmpDir();
    legacyObjects(path.join(d, 'objects.db'));
    const before = dirPrint(d);
    const r = cli(['up', d, '--dry-run']);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stdout).toContain('ALTER TABLE "db_forge_agents" RENAME TO "db_agent_definitions"');
    expect(r.stdout).toContain('DROP TABLE "db_workflow_runs"');
    expect(r.stdout).toMatch(/PRAGMA user_version = 4/);
    // the missing stores are planned too (baseline + stamp)
    expect(r.stdout).toMatch(/CREATE TABLE saga\b/);
    expect(r.stdout).toMatch(/planned/);
    expect(dirPrint(d)).toEqual(before);
    expect(listing(d)).toEqual(['objects.db']);
  });

  it('up --dry-run on a dir that does not exist does not create it', () => {
    const d = path.join(tmpDir(), 'not', 'yet');
    const r = cli(['up', d, '--dry-run', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    const doc = json(r);
    expect(doc.dirs[0]!.stores.every((s) => s.action === 'planned' && s.status === 'missing')).toBe(true);
    expect(entry(doc, d, 'objects').plan!.length).toBeGreaterThan(0);
    expect(fs.existsSync(path.dirname(d))).toBe(false);
  });

  it('adopt --dry-run: exit 3, prints the renames, changes no byte and creates no file', () => {
    const d = tmpDir();
    legacyObjects(path.join(d, 'objects.db'));
    const before = dirPrint(d);
    const r = cli(['adopt', d, '--dry-run', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    const s = entry(json(r), d, 'objects');
    expect(s).toMatchObject({ status: 'legacy', action: 'planned' });
    const sql = s.plan!.map((p) => p.sql).join('\n');
    expect(sql).toContain('ALTER TABLE "db_forge_agents" RENAME TO "db_agent_definitions"');
    expect(sql).toContain('DROP TABLE "db_workflow_runs"');
    expect(dirPrint(d)).toEqual(before);
    expect(listing(d)).toEqual(['objects.db']);

    const human = cli(['adopt', d, '--dry-run']);
    expect(human.code).toBe(3);
    expect(human.stdout).toContain('ALTER TABLE "db_forge_agents" RENAME TO "db_agent_definitions"');
    expect(dirPrint(d)).toEqual(before);
  });
});

describe('adopt', () => {
  it('adopts a legacy objects.db with a backup of the dead rows, and leaves a behind file untouched', () => {
    const root = tmpDir();
    const legacyDir = path.join(root, 'a-legacy');
    const behindDir = path.join(root, 'b-behind');
    const legacyFile = path.join(legacyDir, 'objects.db');
    const behindFile = path.join(behindDir, 'objects.db');
    legacyObjects(legacyFile);
    writeAt(store(reg, 'objects'), behindFile, 2, OBJECTS_ROWS_V1);
    const behindBefore = fingerprint(behindFile);

    const r = cli(['adopt', legacyDir, behindDir, '--json']);
    // the behind file still needs up: exit 3, nothing refused
    expect(r.code, r.stdout + r.stderr).toBe(3);
    const doc = json(r);

    const adopted = entry(doc, legacyDir, 'objects');
    expect(adopted).toMatchObject({ status: 'legacy', version: 0, action: 'adopted', to: 4 });
    expect(adopted.backup).toEqual(expect.any(String));
    const backup = adopted.backup!;
    expect(path.isAbsolute(backup)).toBe(true);
    expect(path.dirname(backup)).toBe(legacyDir);
    expect(FILES as readonly string[]).not.toContain(path.basename(backup));
    expect(fs.existsSync(backup)).toBe(true);
    expect(query(backup, 'SELECT id, status FROM db_workflow_runs')).toEqual([{ id: 'wr1', status: 'done' }]);
    expect(query(backup, 'SELECT count(*) AS n FROM db_workflow_definitions')).toEqual([{ n: 1 }]);

    // the adopted file: v4, renamed tables with their rows, dead tables gone
    expect(userVersion(legacyFile)).toBe(4);
    expect(query(legacyFile, 'SELECT id FROM db_agent_definitions ORDER BY id')).toEqual([{ id: 'a1' }, { id: 'a2' }, { id: 'a3' }]);
    expect(query(legacyFile, "SELECT name FROM sqlite_schema WHERE name IN ('db_workflow_runs', 'db_forge_agents')")).toEqual([]);

    // adopt touches legacy files only
    expect(entry(doc, behindDir, 'objects')).toMatchObject({ status: 'behind', version: 2, action: 'unchanged', backup: null });
    expect(fingerprint(behindFile)).toEqual(behindBefore);
    expect(entry(doc, legacyDir, 'sagas')).toMatchObject({ status: 'missing', action: 'unchanged' });
    expect(fs.existsSync(path.join(legacyDir, 'sagas.db'))).toBe(false);
    expect(listing(behindDir)).toEqual(['objects.db']);
  });
});

describe('check is read-only', () => {
  it('leaves no -wal/-shm and no changed byte on a WAL-mode file', () => {
    const d = path.join(tmpDir(), 'data');
    const up = cli(['up', d]);
    expect(up.code, up.stderr).toBe(0);
    const file = path.join(d, 'objects.db');
    const db = new Database(file);
    expect(db.pragma('journal_mode = WAL', { simple: true })).toBe('wal');
    db.close();
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    const before = dirPrint(d);

    const r = cli(['check', d, '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(json(r).summary.byStatus).toEqual({ current: 3 });
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    expect(fs.existsSync(`${file}-shm`)).toBe(false);
    expect(listing(d)).toEqual([...FILES]);
    expect(dirPrint(d)).toEqual(before);
  });

  it('on a WAL file with a pending -wal (a copy taken while a writer was open), keeps the file and its -wal as they were', () => {
    const src = path.join(tmpDir(), 'src');
    const up = cli(['up', src]);
    expect(up.code, up.stderr).toBe(0);
    const d = path.join(tmpDir(), 'copy');
    fs.mkdirSync(d);
    const db = new Database(path.join(src, 'objects.db'));
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('wal_autocheckpoint = 0');
      db.exec("INSERT INTO db_client VALUES ('pending', 1, '{}')");
      for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(d, f));
    } finally {
      db.close();
    }
    const file = path.join(d, 'objects.db');
    expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(0);
    const before = fingerprint(file);

    const r = cli(['check', d]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const after = fingerprint(file);
    expect(after.main).toBe(before.main);
    expect(after['-wal']).toBe(before['-wal']);
    expect(after['-journal']).toBeNull();
  });
});

describe('--root discovery', () => {
  it('finds nested data dirs, sorted; backups, -wal files and symlinks are never taken for stores', () => {
    const root = path.join(tmpDir(), 'data');
    const objects = store(reg, 'objects');
    writeAt(objects, path.join(root, '1.5.0', 'shard-001', 'objects.db'), 4);
    writeAt(objects, path.join(root, '1.4.2', 'objects.db'), 2);
    writeAt(store(reg, 'sagas'), path.join(root, '1.5.0', 'shard-000', 'sagas.db'), 1);
    // a backup beside a store file and a backup alone in its own dir
    fs.copyFileSync(path.join(root, '1.4.2', 'objects.db'), path.join(root, '1.4.2', 'objects.db.backup-20250101T000000000Z'));
    fs.mkdirSync(path.join(root, 'backups'));
    fs.copyFileSync(path.join(root, '1.4.2', 'objects.db'), path.join(root, 'backups', 'objects.db.backup-20250101T000000000Z'));
    // a -wal alone, a -shm alone
    fs.mkdirSync(path.join(root, 'stale'));
    fs.writeFileSync(path.join(root, 'stale', 'objects.db-wal'), 'x');
    fs.writeFileSync(path.join(root, 'stale', 'sagas.db-shm'), 'x');
    // a symlink to a data dir outside the root is not followed
    const outside = tmpDir();
    writeAt(objects, path.join(outside, 'objects.db'), 4);
    fs.symlinkSync(outside, path.join(root, 'link'), 'dir');

    const before = dirPrint(path.join(root, '1.4.2'));
    const r = cli(['check', '--root', root, '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    const doc = json(r);
    expect(doc.dirs.map((x) => x.path)).toEqual([
      path.join(root, '1.4.2'),
      path.join(root, '1.5.0', 'shard-000'),
      path.join(root, '1.5.0', 'shard-001'),
    ]);
    for (const dir of doc.dirs) {
      expect(dir.stores.map((s) => path.basename(s.file))).toEqual([...FILES]);
      expect(dir.stores.every((s) => path.dirname(s.file) === dir.path)).toBe(true);
    }
    expect(entry(doc, path.join(root, '1.4.2'), 'objects')).toMatchObject({ status: 'behind', version: 2 });
    expect(entry(doc, path.join(root, '1.5.0', 'shard-001'), 'objects').status).toBe('current');
    expect(entry(doc, path.join(root, '1.5.0', 'shard-000'), 'sagas').status).toBe('current');
    expect(doc.summary).toMatchObject({ dirs: 3, stores: 9 });
    expect(r.stdout).not.toContain('backup-2025');
    expect(r.stdout).not.toContain(outside);
    expect(dirPrint(path.join(root, '1.4.2'))).toEqual(before);

    // the same dirs, in the same order, in the human table
    const human = cli(['check', '--root', root]);
    expect(human.code).toBe(3);
    const order = ['1.4.2', path.join('1.5.0', 'shard-000'), path.join('1.5.0', 'shard-001')].map((p) => human.stdout.indexOf(path.join(root, p) + '\n'));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });
});

describe('diff', () => {
  it('names the missing index and the extra column of a drifted file (exit 3); --json gives the changes', () => {
    const d = path.join(tmpDir(), 'data');
    const up = cli(['up', d]);
    expect(up.code, up.stderr).toBe(0);
    const file = path.join(d, 'objects.db');
    const db = new Database(file);
    db.exec('DROP INDEX idx_agents_definition; ALTER TABLE db_client ADD COLUMN drift_col TEXT');
    db.close();
    const before = fingerprint(file);

    const r = cli(['diff', file]);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stdout).toMatch(/missing index idx_agents_definition/);
    expect(r.stdout).toMatch(/db_client\.drift_col/);

    const j = cli(['diff', file, '--json']);
    expect(j.code).toBe(3);
    const doc = json<{ files: { file: string; status: string; changes: { change: string; object: string; table?: string; name: string }[] }[] }>(j);
    expect(doc.files).toHaveLength(1);
    expect(doc.files[0]!.file).toBe(file);
    expect(doc.files[0]!.status).toBe('drift');
    expect(doc.files[0]!.changes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ change: 'missing', object: 'index', name: 'idx_agents_definition' }),
        expect.objectContaining({ change: 'extra', object: 'column', table: 'db_client', name: 'drift_col' }),
      ]),
    );
    expect(doc.files[0]!.changes).toHaveLength(2);
    expect(fingerprint(file)).toEqual(before);

    const current = cli(['diff', path.join(d, 'sagas.db')]);
    expect(current.code, current.stdout + current.stderr).toBe(0);
    expect(current.stdout).toMatch(/no difference/);
  });
});

describe('verify', () => {
  it('exits 0 on the shipped registry and says verified', () => {
    const r = cli(['verify', '--stores', STORES]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/verified/);
    expect(r.stdout).not.toMatch(/✗/);
  });

  function registryCopy(edit003: string): string {
    const copy = path.join(tmpDir(), 'stores');
    fs.cpSync(STORES, copy, { recursive: true });
    fs.writeFileSync(path.join(copy, 'objects', 'migrations', '003-agent-definitions-user-hidden.sql'), edit003);
    return copy;
  }

  it('exits 2 and names the failing step when migration 003 adds a different column name', () => {
    const copy = registryCopy('-- version 2 -> 3\nALTER TABLE db_agent_definitions ADD COLUMN hidden_by_user INTEGER NOT NULL DEFAULT 0;\n');
    const r = cli(['verify', '--stores', copy]);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    const out = r.stdout + r.stderr;
    // 004 reads user_hidden, which 003 no longer adds: the registry says which step breaks and why
    expect(out).toMatch(/004-agents-consolidation\.sql/);
    expect(out).toMatch(/user_hidden/);
    expect(out).not.toMatch(STACK_FRAME);
  });

  it('exits 2 and says which check failed when migration 003 also adds a column the baseline lacks', () => {
    const copy = registryCopy(
      '-- version 2 -> 3\nALTER TABLE db_agent_definitions ADD COLUMN user_hidden INTEGER NOT NULL DEFAULT 0;\nALTER TABLE db_agent_definitions ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;\n',
    );
    const r = cli(['verify', '--stores', copy]);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout).toMatch(/✗ v1 \(frozen\) with rows migrates to the baseline/);
    expect(r.stdout).toMatch(/db_agent_definitions\.archived/);
    expect(r.stdout).toMatch(/✓ fresh file equals the baseline \(v4\)/);
    expect(r.stdout).toMatch(/checks failed/);
    expect(r.stdout).not.toMatch(/verified/);
  });
});

describe('--help', () => {
  it('exits 0 and lists the commands and the exit codes', () => {
    const r = cli(['--help']);
    expect(r.code, r.stderr).toBe(0);
    for (const c of ['up', 'check', 'adopt', 'diff', 'verify']) expect(r.stdout).toMatch(new RegExp(`stores ${c}\\b`));
    expect(r.stdout).toMatch(/Exit codes:/);
    for (const code of ['0', '1', '2', '3', '4']) expect(r.stdout).toMatch(new RegExp(`^\\s+${code}\\s+\\S`, 'm'));
    expect(r.stdout).toMatch(/NO_COLOR/);
  });

  it('shows examples in the top-level help', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Examples:/);
  });

  it('up --help shows its examples', () => {
    const r = cli(['up', '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Examples:/);
    expect(r.stdout).toContain('stores up data/1.5.0');
    expect(r.stdout).toContain('stores up --root data --dry-run');
    expect(r.stdout).toMatch(/--dry-run/);
  });
});
