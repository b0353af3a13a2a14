/**
 * Data-aware plans: `up --dry-run` runs the plan on a copy of the real file and counts what each
 * step hits — rows violating a new UNIQUE, NOT NULL or CHECK, rows lost, values a map turns to
 * NULL — and refuses before writing; `up` counts the same inside its transaction and refuses with
 * the file's bytes unchanged; a step that handles the rows passes; `verify` meets the same on
 * generated rows. Real files in temp dirs, a registry on disk, the built CLI.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRegistry } from '../src/api.js';
import { verifyRegistry } from '../src/verify.js';
import { cli, fingerprint, query, tmpDir, userVersion, writeSql } from './helpers.js';

const V1 = `CREATE TABLE user (
  id INTEGER PRIMARY KEY,
  email TEXT,
  status TEXT NOT NULL CHECK (status IN ('new', 'active', 'old'))
);`;

const ROWS = `INSERT INTO user (id, email, status) VALUES
  (1, 'a@x', 'new'), (2, 'a@x', 'active'), (3, 'b@x', 'old'), (4, NULL, 'active'), (5, 'b@x', 'new'), (6, 'c@x', 'new');`;

/** A registry with store `users`: v1 as above, v2 the given baseline reached by `migration`. */
function registryWith(baseline: string, migration: string): string {
  const root = tmpDir('stores-data-');
  const dir = path.join(root, 'stores', 'users');
  fs.mkdirSync(path.join(dir, 'migrations'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'versions'));
  fs.writeFileSync(path.join(dir, 'store.json'), JSON.stringify({ file: 'users.db', version: 2, minVersion: 1 }));
  fs.writeFileSync(path.join(dir, 'versions', '001.sql'), V1);
  fs.writeFileSync(path.join(dir, 'schema.sql'), baseline);
  fs.writeFileSync(path.join(dir, 'migrations', '002-change.sql'), migration);
  writeSql(path.join(root, 'data', 'users.db'), `${V1}\n${ROWS}`, 1);
  return root;
}

interface Finding {
  kind: string;
  table: string;
  constraint: string;
  rows: number | null;
  sample: string[];
}
interface Json {
  dirs: { stores: { action: string; message: string; plan?: { kind: string; data?: Finding[] }[] }[] }[];
}

/** Dry run (JSON), then up: both refuse; the file's bytes are unchanged. Returns the dry run's entry. */
function refusedBoth(root: string): { message: string; findings: Finding[]; up: string } {
  const file = path.join(root, 'data', 'users.db');
  const before = fingerprint(file);
  const dry = cli(['up', path.join(root, 'data'), '--stores', path.join(root, 'stores'), '--dry-run', '--json']);
  expect(dry.code, dry.stdout + dry.stderr).toBe(4);
  const entry = (JSON.parse(dry.stdout) as Json).dirs[0]!.stores[0]!;
  expect(entry.action).toBe('refused');
  expect(fingerprint(file)).toEqual(before);
  const up = cli(['up', path.join(root, 'data'), '--stores', path.join(root, 'stores'), '--json']);
  expect(up.code, up.stdout + up.stderr).toBe(4);
  const upEntry = (JSON.parse(up.stdout) as Json).dirs[0]!.stores[0]!;
  expect(upEntry.action).toBe('refused');
  expect(fingerprint(file)).toEqual(before);
  expect(userVersion(file)).toBe(1);
  const step = entry.plan!.find((s) => s.kind === 'migration')!;
  return { message: entry.message, findings: step.data ?? [], up: upEntry.message };
}

function passes(root: string): void {
  const file = path.join(root, 'data', 'users.db');
  const dry = cli(['up', path.join(root, 'data'), '--stores', path.join(root, 'stores'), '--dry-run', '--json']);
  expect(dry.code, dry.stdout + dry.stderr).toBe(3);
  const up = cli(['up', path.join(root, 'data'), '--stores', path.join(root, 'stores')]);
  expect(up.code, up.stdout + up.stderr).toBe(0);
  expect(userVersion(file)).toBe(2);
}

const WITH_UNIQUE = `${V1}\nCREATE UNIQUE INDEX user_email ON user (email);`;

describe('a new UNIQUE over duplicate rows', () => {
  it('dry run counts the duplicates and refuses; up refuses with the bytes unchanged', () => {
    const root = registryWith(WITH_UNIQUE, 'CREATE UNIQUE INDEX user_email ON user (email);');
    const r = refusedBoth(root);
    expect(r.findings).toEqual([{ kind: 'unique', table: 'user', constraint: 'UNIQUE (email)', rows: 4, sample: ["(email) = ('a@x') ×2", "(email) = ('b@x') ×2"] }]);
    for (const m of [r.message, r.up]) {
      expect(m).toMatch(/users\.db: migration 002-change\.sql meets 4 row\(s\) of user that violate UNIQUE \(email\), e\.g\. \(email\) = \('a@x'\) ×2/);
      expect(m).toMatch(/resolve the duplicates/);
      expect(m).toMatch(/nothing was changed/);
    }
  });

  it('the human dry run shows the count under the step', () => {
    const root = registryWith(WITH_UNIQUE, 'CREATE UNIQUE INDEX user_email ON user (email);');
    const dry = cli(['up', path.join(root, 'data'), '--stores', path.join(root, 'stores'), '--dry-run']);
    expect(dry.code).toBe(4);
    expect(dry.stdout).toMatch(/-- rows: unique user: 4 \(UNIQUE \(email\)\)/);
  });

  it('a step that first removes the duplicates (declared) passes, and the dry run counts the rows it deletes', () => {
    const root = registryWith(
      WITH_UNIQUE,
      `-- stores:destructive keep the first user of each email
DELETE FROM user WHERE email IS NOT NULL AND rowid NOT IN (SELECT min(rowid) FROM user GROUP BY email);
CREATE UNIQUE INDEX user_email ON user (email);`,
    );
    const dry = cli(['up', path.join(root, 'data'), '--stores', path.join(root, 'stores'), '--dry-run', '--json']);
    expect(dry.code, dry.stdout).toBe(3);
    const step = (JSON.parse(dry.stdout) as Json).dirs[0]!.stores[0]!.plan!.find((s) => s.kind === 'migration')!;
    expect(step.data).toEqual([{ kind: 'lost', table: 'user', constraint: 'rows deleted from user', rows: 2, sample: [] }]);
    passes(root);
    expect(query(path.join(root, 'data', 'users.db'), 'SELECT id FROM user ORDER BY id').map((r) => r.id)).toEqual([1, 3, 4, 6]);
  });
});

const rebuild = (body: string, lead = '') => `${lead}-- stores:rebuild user\nCREATE TABLE user (\n${body}\n);`;

describe('rebuilds over rows the new definition refuses', () => {
  it('NOT NULL over NULL rows: refused, naming the column and the row', () => {
    const body = "  id INTEGER PRIMARY KEY,\n  email TEXT NOT NULL,\n  status TEXT NOT NULL CHECK (status IN ('new', 'active', 'old'))";
    const r = refusedBoth(registryWith(`CREATE TABLE user (\n${body}\n);`, rebuild(body)));
    expect(r.findings).toEqual([{ kind: 'not-null', table: 'user', constraint: 'NOT NULL user.email', rows: 1, sample: ["(id, email, status) = (4, NULL, 'active')"] }]);
    expect(r.up).toMatch(/violate NOT NULL user\.email, e\.g\. \(id, email, status\) = \(4, NULL, 'active'\); give those rows a value first/);
  });

  it("a NOT NULL the step fills first (coalesce in a map) passes", () => {
    const body = "  id INTEGER PRIMARY KEY,\n  email TEXT NOT NULL,\n  status TEXT NOT NULL CHECK (status IN ('new', 'active', 'old'))";
    const root = registryWith(`CREATE TABLE user (\n${body}\n);`, rebuild(body, "-- stores:map email = coalesce(email, 'unknown-' || id)\n"));
    passes(root);
    expect(query(path.join(root, 'data', 'users.db'), 'SELECT email FROM user WHERE id = 4')).toEqual([{ email: 'unknown-4' }]);
  });

  it('a narrowed CHECK list over rows holding an old value: refused with the CHECK and the row', () => {
    const body = "  id INTEGER PRIMARY KEY,\n  email TEXT,\n  status TEXT NOT NULL CHECK (status IN ('new', 'active'))";
    const r = refusedBoth(registryWith(`CREATE TABLE user (\n${body}\n);`, rebuild(body)));
    expect(r.findings).toEqual([{ kind: 'check', table: 'user', constraint: "CHECK status IN ('new', 'active')", rows: 1, sample: ["(id, email, status) = (3, 'b@x', 'old')"] }]);
    expect(r.up).toMatch(/map the old values to allowed ones/);
  });

  it('the same narrowing with a map of the old value passes', () => {
    const body = "  id INTEGER PRIMARY KEY,\n  email TEXT,\n  status TEXT NOT NULL CHECK (status IN ('new', 'active'))";
    const root = registryWith(`CREATE TABLE user (\n${body}\n);`, rebuild(body, "-- stores:map status = CASE status WHEN 'old' THEN 'active' ELSE status END\n"));
    passes(root);
    expect(query(path.join(root, 'data', 'users.db'), "SELECT count(*) AS n FROM user WHERE status = 'active'")).toEqual([{ n: 3 }]);
  });

  it('a map that turns values to NULL: refused unless declared; total maps pass', () => {
    const body = "  id INTEGER PRIMARY KEY,\n  email TEXT,\n  status TEXT NOT NULL CHECK (status IN ('new', 'active', 'old')),\n  kind TEXT";
    const baseline = `CREATE TABLE user (\n${body}\n);`;
    const partial = "-- stores:map kind = CASE status WHEN 'new' THEN 'fresh' END\n";
    const r = refusedBoth(registryWith(baseline, rebuild(body, partial)));
    expect(r.findings).toEqual([{ kind: 'map-null', table: 'user', constraint: "-- stores:map kind = CASE status WHEN 'new' THEN 'fresh' END", rows: 3, sample: ["(status) = ('active')", "(status) = ('old')", "(status) = ('active')"] }]);
    expect(r.up).toMatch(/turns 3 value\(s\) of user to NULL .*coalesce/);
    // Declared: the loss is intended (backup first).
    passes(registryWith(baseline, rebuild(body, `-- stores:destructive only new users have a kind\n${partial}`)));
    // Total: every row gets a value.
    passes(registryWith(baseline, rebuild(body, "-- stores:map kind = CASE status WHEN 'new' THEN 'fresh' ELSE 'settled' END\n")));
    // NULL written out: those rows are meant to have none.
    passes(registryWith(baseline, rebuild(body, "-- stores:map kind = CASE status WHEN 'new' THEN 'fresh' ELSE NULL END\n")));
    // A test for NULL is not a NULL value: still refused.
    const test = refusedBoth(registryWith(baseline, rebuild(body, "-- stores:map kind = CASE WHEN email IS NOT NULL AND status = 'new' THEN 'fresh' END\n")));
    expect(test.findings.map((f) => [f.kind, f.rows])).toEqual([['map-null', 3]]);
  });

  it('a rebuild whose conflict clause drops rows is counted as rows lost and refused', () => {
    const body = "  id INTEGER PRIMARY KEY,\n  email TEXT UNIQUE ON CONFLICT IGNORE,\n  status TEXT NOT NULL CHECK (status IN ('new', 'active', 'old'))";
    const r = refusedBoth(registryWith(`CREATE TABLE user (\n${body}\n);`, rebuild(body)));
    expect(r.findings).toEqual([{ kind: 'lost', table: 'user', constraint: 'the rebuild of user (a conflict clause of the new definition drops rows)', rows: 2, sample: [] }]);
  });
});

describe('a hand-written table copy over rows the new table refuses', () => {
  it('INSERT … SELECT into a narrower table: each refused row counted under its constraint, even in a declared step', () => {
    const body = "  id INTEGER PRIMARY KEY,\n  email TEXT NOT NULL,\n  status TEXT NOT NULL CHECK (status IN ('new', 'active'))";
    const step = `-- stores:destructive the old user table is replaced by its copy
CREATE TABLE user_new (\n${body}\n);
INSERT INTO user_new (id, email, status) SELECT id, email, status FROM user;
DROP TABLE user;
ALTER TABLE user_new RENAME TO user;`;
    const r = refusedBoth(registryWith(`CREATE TABLE "user" (\n${body}\n);`, step));
    expect(r.findings).toEqual([
      { kind: 'check', table: 'user_new', constraint: "CHECK status IN ('new', 'active')", rows: 1, sample: ["(id, email, status) = (3, 'b@x', 'old')"] },
      { kind: 'not-null', table: 'user_new', constraint: 'NOT NULL user_new.email', rows: 1, sample: ["(id, email, status) = (4, NULL, 'active')"] },
    ]);
  });
});

describe('ADD COLUMN over rows', () => {
  it('NOT NULL without a default on a table with rows: every row counted, refused before writing', () => {
    const r = refusedBoth(registryWith(`${V1.replace(/\n\);$/, ',\n  plan TEXT NOT NULL\n);')}`, 'ALTER TABLE user ADD COLUMN plan TEXT NOT NULL;'));
    expect(r.findings).toMatchObject([{ kind: 'not-null', table: 'user', constraint: 'NOT NULL of the added column plan TEXT NOT NULL', rows: 6 }]);
  });
});

describe('verify meets the same on generated rows', () => {
  it('a narrowed CHECK list and a partial map fail verify, naming the step and the rows', async () => {
    const body = "  id INTEGER PRIMARY KEY,\n  email TEXT,\n  status TEXT NOT NULL CHECK (status IN ('new', 'active'))";
    const narrowed = verifyRegistry(await loadRegistry(path.join(registryWith(`CREATE TABLE user (\n${body}\n);`, rebuild(body)), 'stores')));
    expect(narrowed.ok).toBe(false);
    const detail = narrowed.stores[0]!.checks.filter((c) => !c.ok).map((c) => c.detail).join('\n');
    expect(detail).toMatch(/migration 002-change\.sql meets 1 row\(s\) of user that violate CHECK status IN \('new', 'active'\), e\.g\. \(id, email, status\) = \(\d+, [^)]*'old'\)/);

    const body2 = "  id INTEGER PRIMARY KEY,\n  email TEXT,\n  status TEXT NOT NULL CHECK (status IN ('new', 'active', 'old')),\n  kind TEXT";
    const partial = verifyRegistry(await loadRegistry(path.join(registryWith(`CREATE TABLE user (\n${body2}\n);`, rebuild(body2, "-- stores:map kind = CASE status WHEN 'new' THEN 'fresh' END\n")), 'stores')));
    expect(partial.ok).toBe(false);
    expect(partial.stores[0]!.checks.filter((c) => !c.ok).map((c) => c.detail).join('\n')).toMatch(/turns \d+ value\(s\) of user to NULL/);

    const total = verifyRegistry(await loadRegistry(path.join(registryWith(`CREATE TABLE user (\n${body2}\n);`, rebuild(body2, "-- stores:map kind = CASE status WHEN 'new' THEN 'fresh' ELSE 'settled' END\n")), 'stores')));
    expect(total.ok, JSON.stringify(total)).toBe(true);
  });
});
