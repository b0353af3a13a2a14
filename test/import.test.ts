/**
 * `stores import`: a folder of numbered SQL files, a drizzle-kit folder (in drizzle-kit's shapes,
 * read and applied by drizzle-orm's own migrator to prove it), and a live file, each turned into a
 * store folder that `stores verify` passes, without a byte of the sources changing.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { describe, expect, it } from 'vitest';
import { loadRegistry } from '../src/api.js';
import { runCli } from '../src/cli/run.js';
import { importStore, ImportError } from '../src/import/index.js';
import { inspect } from '../src/schema/inspect.js';
import { describeChange, diff } from '../src/schema/diff.js';
import { verifyRegistry } from '../src/verify.js';
import { spawnSync } from 'node:child_process';
import { cli, fingerprint, ROOT, tmpDir } from './helpers.js';

/** SHA-256 of every file under `dir`, by relative path: what "the sources are unchanged" is checked against. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

async function run(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: { NO_COLOR: '1' }, cwd, stdoutTTY: false });
  return { code, stdout, stderr };
}

/** The schema SQLite makes of `sql` (run statement by statement, as a runner would), less the tables named. */
function schemaOf(run: (db: Database.Database) => void, without: readonly string[] = []) {
  const db = new Database(':memory:');
  try {
    run(db);
    for (const t of without) db.exec(`DROP TABLE IF EXISTS "${t}"`);
    return inspect(db);
  } finally {
    db.close();
  }
}

function schemaOfText(sql: string) {
  return schemaOf((db) => db.exec(sql));
}

function sameMeaning(expected: ReturnType<typeof inspect>, actual: ReturnType<typeof inspect>): string[] {
  return diff(expected, actual).map(describeChange);
}

/** A relay-like app: its own runner applies numbered files and records them in `_migrations`. */
const RELAY: Record<string, string> = {
  '001_initial.sql': `PRAGMA foreign_keys = ON;
BEGIN;
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, legacy_flag INTEGER);
CREATE TABLE plans (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, title TEXT NOT NULL, old_a TEXT, old_b TEXT);
CREATE INDEX plans_user ON plans(user_id);
CREATE TABLE scratch (k TEXT PRIMARY KEY, v TEXT);
COMMIT;
`,
  '002_plan_schema.sql': `-- plans lose two columns, scratch goes
ALTER TABLE plans DROP COLUMN old_a;
ALTER TABLE plans DROP COLUMN old_b;
DROP TABLE scratch;
CREATE TABLE plan_steps (id INTEGER PRIMARY KEY, plan_id INTEGER NOT NULL REFERENCES plans(id), pos INTEGER NOT NULL);
`,
  '003_users_rebuild.sql': `PRAGMA foreign_keys=OFF;
CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL DEFAULT 0);
INSERT INTO users_new (id, email) SELECT id, lower(email) FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
PRAGMA foreign_keys=ON;
`,
};

function writeFolder(dir: string, files: Record<string, string>): string {
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
  return dir;
}

/** The relay's files, applied in order the way its own runner would (one exec per file). */
function relayAt(v: number) {
  return schemaOf((db) => {
    for (const f of Object.keys(RELAY).sort().slice(0, v)) db.exec(RELAY[f]!);
  });
}

/**
 * A drizzle-kit folder in the shapes drizzle-kit writes for SQLite: `meta/_journal.json`
 * (version 7, dialect sqlite, one entry per migration with idx, version, when, tag and
 * breakpoints), backquoted DDL with `--> statement-breakpoint` between statements, `ALTER TABLE
 * … ADD`, and a rebuild (PRAGMA foreign_keys=OFF, CREATE TABLE __new_users, INSERT … SELECT, DROP,
 * RENAME, PRAGMA foreign_keys=ON, then the index recreated).
 */
const DRIZZLE: Record<string, string> = {
  'meta/_journal.json': JSON.stringify(
    {
      version: '7',
      dialect: 'sqlite',
      entries: [
        { idx: 0, version: '6', when: 1733000000000, tag: '0000_init_users', breakpoints: true },
        { idx: 1, version: '6', when: 1733100000000, tag: '0001_add_posts', breakpoints: true },
        { idx: 2, version: '6', when: 1733200000000, tag: '0002_users_rebuild', breakpoints: true },
      ],
    },
    null,
    2,
  ),
  '0000_init_users.sql': 'CREATE TABLE `users` (\n\t`id` integer PRIMARY KEY NOT NULL,\n\t`name` text NOT NULL,\n\t`email` text,\n\t`nickname` text\n);\n--> statement-breakpoint\nCREATE UNIQUE INDEX `users_email_unique` ON `users` (`email`);',
  '0001_add_posts.sql':
    'CREATE TABLE `posts` (\n\t`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,\n\t`author_id` integer NOT NULL,\n\t`title` text NOT NULL,\n\tFOREIGN KEY (`author_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade\n);\n--> statement-breakpoint\nALTER TABLE `users` ADD `created_at` integer DEFAULT 0 NOT NULL;',
  '0002_users_rebuild.sql':
    'PRAGMA foreign_keys=OFF;--> statement-breakpoint\nCREATE TABLE `__new_users` (\n\t`id` integer PRIMARY KEY NOT NULL,\n\t`name` text NOT NULL,\n\t`email` text,\n\t`created_at` integer DEFAULT 0 NOT NULL\n);\n--> statement-breakpoint\nINSERT INTO `__new_users`("id", "name", "email", "created_at") SELECT "id", "name", "email", "created_at" FROM `users`;--> statement-breakpoint\nDROP TABLE `users`;--> statement-breakpoint\nALTER TABLE `__new_users` RENAME TO `users`;--> statement-breakpoint\nPRAGMA foreign_keys=ON;--> statement-breakpoint\nCREATE UNIQUE INDEX `users_email_unique` ON `users` (`email`);',
};

/** The schema drizzle-orm's own migrator gives a real file from `dir` (its bookkeeping table left out), and what it recorded. */
function drizzleMigrated(dir: string, file: string) {
  const sqlite = new Database(file);
  try {
    migrate(drizzle(sqlite), { migrationsFolder: dir });
    const recorded = sqlite.prepare('SELECT created_at FROM __drizzle_migrations ORDER BY created_at').pluck().all() as number[];
    return { recorded };
  } finally {
    sqlite.close();
  }
}

describe('stores import: a folder of numbered SQL files', () => {
  it('writes store.json, the flat baseline, every version frozen and the migrations after the first; verify passes; the folder is unchanged', async () => {
    const root = tmpDir();
    const from = writeFolder(path.join(root, 'relay'), RELAY);
    const before = tree(from);
    const r = await run(['import', 'relay', '--stores', 'reg'], root);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(tree(from)).toEqual(before);
    const dir = path.join(root, 'reg', 'relay');
    expect(tree(dir)).toHaveProperty('store.json');
    expect(Object.keys(tree(dir)).sort()).toEqual(['migrations/002-plan-schema.sql', 'migrations/003-users-rebuild.sql', 'schema.sql', 'store.json', 'versions/001.sql', 'versions/002.sql', 'versions/003.sql']);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'store.json'), 'utf8'));
    expect(json).toMatchObject({ file: 'relay.db', version: 3, minVersion: 1 });
    // The folder's tool is not known and no history table was named: no history entry.
    expect(json.legacy).toBeUndefined();
    // Every version is what the app's own files make of an empty file, by meaning.
    for (const v of [1, 2, 3]) expect(sameMeaning(relayAt(v), schemaOfText(fs.readFileSync(path.join(dir, 'versions', `00${v}.sql`), 'utf8')))).toEqual([]);
    expect(sameMeaning(relayAt(3), schemaOfText(fs.readFileSync(path.join(dir, 'schema.sql'), 'utf8')))).toEqual([]);
    // The registry loads and verifies (in the library and on the command line).
    const reg = await loadRegistry(path.join(root, 'reg'));
    expect(verifyRegistry(reg).ok).toBe(true);
    const v = cli(['verify', '--stores', path.join(root, 'reg')]);
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
  });

  it('strips BEGIN/COMMIT and PRAGMA foreign_keys, declares the destructive steps naming what they drop, and makes a hand-written rebuild a -- stores:rebuild step', async () => {
    const root = tmpDir();
    const from = writeFolder(path.join(root, 'relay'), RELAY);
    const result = importStore(from, path.join(root, 'reg'));
    expect(result.notes.join('\n')).toMatch(/001_initial\.sql: `BEGIN` stripped/);
    expect(result.notes.join('\n')).toMatch(/003_users_rebuild\.sql: `PRAGMA foreign_keys=OFF` stripped/);
    const m2 = fs.readFileSync(path.join(result.dir, 'migrations', '002-plan-schema.sql'), 'utf8');
    expect(m2).toMatch(/^-- stores:destructive imported from 002_plan_schema\.sql, which drops column plans\.old_a, drops column plans\.old_b, drops table scratch$/m);
    const m3 = fs.readFileSync(path.join(result.dir, 'migrations', '003-users-rebuild.sql'), 'utf8');
    expect(m3).toMatch(/^-- stores:destructive imported from 003_users_rebuild\.sql, which drops column users\.legacy_flag$/m);
    expect(m3).toMatch(/^-- stores:rebuild users\n-- stores:map email = lower\(email\)\nCREATE TABLE users \(/m);
    expect(m3).not.toMatch(/PRAGMA|users_new|INSERT/);
    for (const text of [m2, m3]) expect(text).not.toMatch(/^\s*(BEGIN|COMMIT|PRAGMA)/im);
    // The loader's own analysis finds nothing undeclared in what was written.
    const reg = await loadRegistry(path.join(root, 'reg'));
    for (const d of reg.stores[0]!.destructive.values()) expect(d.undeclared).toBe(false);
    expect(result.versions.map((v) => [v.from, v.version, v.destructive !== null])).toEqual([
      ['001_initial.sql', 1, false],
      ['002_plan_schema.sql', 2, true],
      ['003_users_rebuild.sql', 3, true],
    ]);
  });

  it('a file at v1 holding rows, migrated by `stores up` with the imported store, ends as the app\'s own files leave it: same schema, same rows', async () => {
    const root = tmpDir();
    const files = { ...RELAY, '004_status.sql': `CREATE TABLE plans_new (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, title TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'open');
INSERT INTO plans_new (id, user_id, title) SELECT id, user_id, trim(title) FROM plans;
DROP TABLE plans;
ALTER TABLE plans_new RENAME TO plans;
CREATE INDEX plans_user ON plans(user_id);
` };
    writeFolder(path.join(root, 'relay'), files);
    expect((await run(['import', 'relay', '--stores', 'reg'], root)).code).toBe(0);
    const rows = "INSERT INTO users VALUES (1, 'A@X.ORG', 0), (2, 'b@y.org', NULL); INSERT INTO plans VALUES (10, 1, ' first ', 'a', 'b'), (11, 2, 'second', NULL, NULL); INSERT INTO scratch VALUES ('k', 'v');";
    const names = Object.keys(files).sort();
    // The app's way: its own files, one after the other, on the file holding rows.
    const theirs = path.join(root, 'theirs.db');
    const t = new Database(theirs);
    t.exec(files[names[0]!]!);
    t.exec(rows);
    for (const f of names.slice(1)) t.exec(files[f]!);
    t.close();
    // Ours: the same file at v1, stamped, then `stores up`.
    const data = path.join(root, 'data');
    fs.mkdirSync(data);
    const ours = path.join(data, 'relay.db');
    const o = new Database(ours);
    o.exec(files[names[0]!]!);
    o.exec(rows);
    o.pragma('user_version = 1');
    o.close();
    const up = cli(['up', data, '--stores', path.join(root, 'reg'), '--json']);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(JSON.parse(up.stdout).dirs[0].stores[0]).toMatchObject({ status: 'behind', action: 'migrated', from: 1, to: 4 });
    const a = new Database(theirs, { readonly: true });
    const b = new Database(ours, { readonly: true });
    try {
      expect(sameMeaning(inspect(a), inspect(b))).toEqual([]);
      for (const table of ['users', 'plans', 'plan_steps']) {
        expect(b.prepare(`SELECT * FROM ${table} ORDER BY id`).all(), table).toEqual(a.prepare(`SELECT * FROM ${table} ORDER BY id`).all());
      }
      expect(b.prepare('SELECT email FROM users ORDER BY id').pluck().all()).toEqual(['a@x.org', 'b@y.org']);
      expect(b.prepare('SELECT title || status FROM plans ORDER BY id').pluck().all()).toEqual(['firstopen', 'secondopen']);
    } finally {
      a.close();
      b.close();
    }
    const m4 = fs.readFileSync(path.join(root, 'reg', 'relay', 'migrations', '004-status.sql'), 'utf8');
    expect(m4).toMatch(/^DROP INDEX "plans_user";\n-- stores:rebuild plans\n-- stores:map title = trim\(title\)\nCREATE TABLE plans \(/m);
  });

  it('refuses a step whose rows do not survive as verify demands (a rebuild resetting a column to its default), naming the migration', async () => {
    const root = tmpDir();
    const files = {
      '001_a.sql': "CREATE TABLE t (id INTEGER PRIMARY KEY, state TEXT NOT NULL DEFAULT 'x', gone TEXT);",
      '002_b.sql': "CREATE TABLE t_new (id INTEGER PRIMARY KEY, state TEXT NOT NULL DEFAULT 'fresh');\nINSERT INTO t_new (id) SELECT id FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;",
      '003_c.sql': 'CREATE TABLE u (id INTEGER PRIMARY KEY);',
    };
    writeFolder(path.join(root, 'app'), files);
    const r = await run(['import', 'app', '--stores', 'reg'], root);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^stores: 002_b\.sql: the store it makes does not pass verify: v1 \(frozen\) with rows migrates to the baseline: t: 3 of 3 rows lost or changed/);
    expect(r.stderr).toMatch(/nothing was written\n$/);
    expect(fs.existsSync(path.join(root, 'reg'))).toBe(false);
  });

  it('strips PRAGMA user_version, connection pragmas, END and VACUUM, saying why, and keeps the step (an empty step keeps its version)', () => {
    const root = tmpDir();
    const from = writeFolder(path.join(root, 'app'), {
      '001_a.sql': 'PRAGMA journal_mode = WAL;\nBEGIN TRANSACTION;\nCREATE TABLE t (id INTEGER PRIMARY KEY);\nPRAGMA user_version = 1;\nEND TRANSACTION;',
      '002_b.sql': 'PRAGMA synchronous = NORMAL;\nVACUUM;',
      '003_c.sql': 'ALTER TABLE t ADD COLUMN name TEXT;\nPRAGMA main.user_version = 3;',
    });
    const result = importStore(from, path.join(root, 'reg'));
    const notes = result.notes.join('\n');
    expect(notes).toMatch(/001_a\.sql: `PRAGMA journal_mode = WAL` stripped \(a connection setting: it belongs in store\.json "connection"\)/);
    expect(notes).toMatch(/001_a\.sql: `PRAGMA user_version = 1` stripped \(stores stamps user_version itself/);
    expect(notes).toMatch(/001_a\.sql: `END TRANSACTION` stripped/);
    expect(notes).toMatch(/002_b\.sql: `VACUUM` stripped/);
    expect(notes).toMatch(/003_c\.sql: `PRAGMA main\.user_version = 3` stripped/);
    expect(result.version).toBe(3);
    expect(fs.readFileSync(path.join(result.dir, 'migrations', '002-b.sql'), 'utf8')).toBe('-- version 1 -> 2: imported by `stores import` from 002_b.sql\n-- nothing left to run: every statement of 002_b.sql is one stores owns\n');
    expect(fs.readFileSync(path.join(result.dir, 'migrations', '003-c.sql'), 'utf8')).toBe('-- version 2 -> 3: imported by `stores import` from 003_c.sql\nALTER TABLE t ADD COLUMN name TEXT;\n');
  });

  it('leaves the shadow tables of a virtual table out of every schema it writes (creating the virtual table makes them), from a folder and from a live file', async () => {
    const root = tmpDir();
    const from = writeFolder(path.join(root, 'app'), {
      '001_a.sql': 'CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT); CREATE VIRTUAL TABLE t_fts USING fts5(body);',
      '002_b.sql': 'ALTER TABLE t ADD COLUMN x TEXT;',
    });
    const result = importStore(from, path.join(root, 'reg'));
    for (const f of ['schema.sql', 'versions/001.sql', 'versions/002.sql']) expect(fs.readFileSync(path.join(result.dir, f), 'utf8')).not.toMatch(/t_fts_(data|idx|content|docsize|config)/);
    const file = path.join(root, 'live.db');
    const db = new Database(file);
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT); CREATE VIRTUAL TABLE t_fts USING fts5(body);');
    db.close();
    const live = importStore(file, path.join(root, 'reg'));
    expect(fs.readFileSync(path.join(live.dir, 'schema.sql'), 'utf8')).not.toMatch(/t_fts_data/);
    expect(verifyRegistry(await loadRegistry(path.join(root, 'reg'))).ok).toBe(true);
  });

  it('with --history-table writes a custom history entry whose query maps the recorded file names to versions', async () => {
    const root = tmpDir();
    writeFolder(path.join(root, 'relay'), RELAY);
    const r = await run(['import', 'relay', '--stores', 'reg', '--history-table', '_migrations', '--json'], root);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const json = JSON.parse(fs.readFileSync(path.join(root, 'reg', 'relay', 'store.json'), 'utf8'));
    expect(json.legacy.history).toEqual(out.history);
    const [entry] = json.legacy.history as { table: string; version: string }[];
    expect(entry!.table).toBe('_migrations');
    // The query on tables such a runner keeps: the version of the last file, or NULL for a name it does not know.
    const db = new Database(':memory:');
    try {
      db.exec('CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT)');
      const version = () => db.prepare(entry!.version).pluck().get();
      expect(version()).toBeNull();
      db.exec("INSERT INTO _migrations (name) VALUES ('001_initial.sql'), ('002_plan_schema.sql')");
      expect(version()).toBe(2);
      db.exec("INSERT INTO _migrations (name) VALUES ('004_not_in_the_folder.sql')");
      expect(version()).toBeNull();
      expect(db.prepare(entry!.version).readonly).toBe(true);
    } finally {
      db.close();
    }
  });

  it('the history entry adopts the relay\'s own file (002_plan_schema.sql applied, recorded in _migrations) and migrates it to the baseline, rows kept', async () => {
    const root = tmpDir();
    writeFolder(path.join(root, 'relay'), RELAY);
    expect((await run(['import', 'relay', '--stores', 'reg', '--history-table', '_migrations'], root)).code).toBe(0);
    const data = path.join(root, 'data');
    fs.mkdirSync(data);
    const file = path.join(data, 'relay.db');
    const db = new Database(file);
    db.exec('CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
    db.exec(RELAY['001_initial.sql']!);
    db.exec("INSERT INTO users VALUES (1, 'a@x.org', 1); INSERT INTO plans VALUES (10, 1, 'p', 'a', 'b'); INSERT INTO scratch VALUES ('k', 'v');");
    db.exec(RELAY['002_plan_schema.sql']!);
    db.exec("INSERT INTO plan_steps VALUES (100, 10, 1); INSERT INTO _migrations VALUES ('001_initial.sql', 'then'), ('002_plan_schema.sql', 'later');");
    db.close();
    const check = cli(['check', data, '--stores', path.join(root, 'reg'), '--json']);
    expect(JSON.parse(check.stdout).dirs[0].stores[0].status, check.stdout).toBe('legacy');
    const up = cli(['up', data, '--stores', path.join(root, 'reg'), '--json']);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(JSON.parse(up.stdout).dirs[0].stores[0]).toMatchObject({ status: 'legacy', action: 'adopted' });
    const after = new Database(file, { readonly: true });
    try {
      expect(after.pragma('user_version', { simple: true })).toBe(3);
      expect(after.prepare("SELECT name FROM sqlite_schema WHERE name = '_migrations'").get()).toBeUndefined();
      expect(after.prepare('SELECT id, email FROM users').all()).toEqual([{ id: 1, email: 'a@x.org' }]);
      expect(after.prepare('SELECT id, user_id, title FROM plans').all()).toEqual([{ id: 10, user_id: 1, title: 'p' }]);
      expect(after.prepare('SELECT * FROM plan_steps').all()).toEqual([{ id: 100, plan_id: 10, pos: 1 }]);
    } finally {
      after.close();
    }
  });

  it('reads golang-migrate-style 0001_x.up.sql files and skips the .down.sql ones', async () => {
    const root = tmpDir();
    writeFolder(path.join(root, 'app'), {
      '0001_create.up.sql': 'CREATE TABLE t (id INTEGER PRIMARY KEY);',
      '0001_create.down.sql': 'DROP TABLE t;',
      '0002_more.up.sql': 'ALTER TABLE t ADD COLUMN name TEXT;',
      '0002_more.down.sql': 'ALTER TABLE t DROP COLUMN name;',
      'README.md': 'migrations',
    });
    const r = await run(['import', 'app', '--stores', 'reg'], root);
    expect(r.code).toBe(0);
    expect(fs.readdirSync(path.join(root, 'reg', 'app', 'migrations'))).toEqual(['002-more.sql']);
    expect(JSON.parse(fs.readFileSync(path.join(root, 'reg', 'app', 'store.json'), 'utf8')).version).toBe(2);
  });

  it('refuses what it cannot import faithfully, naming the file and the reason, and writes nothing', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ '001_a.sql': 'CREATE TABLE t (id INTEGER);', '002_b.sql': "ATTACH 'x.db' AS x;" }, /002_b\.sql: `ATTACH 'x\.db' AS x` cannot be imported/],
      [{ '001_a.sql': 'CREATE TABLE t (id INTEGER);', '002_b.sql': 'PRAGMA writable_schema = ON;' }, /002_b\.sql: `PRAGMA writable_schema = ON` cannot be imported: this pragma may change/],
      [{ '001_a.sql': 'CREATE TABLE t (id INTEGER);', '002_b.sql': 'SAVEPOINT s; CREATE TABLE u (id INTEGER); RELEASE s;' }, /002_b\.sql: `SAVEPOINT s` cannot be imported/],
      [{ '001_a.sql': 'CREATE TABLE t (id INTEGER);', '002_b.sql': 'CREATE TABLE u (id INTEGER REFERENCES nope);\nALTER TABLE nope ADD COLUMN x;' }, /002_b\.sql: `ALTER TABLE nope ADD COLUMN x` fails when replayed in memory: no such table/],
      [{ '001_a.sql': 'CREATE TABLE t (id INTEGER);', '1_b.sql': 'CREATE TABLE u (id INTEGER);' }, /001_a\.sql and 1_b\.sql have the same number/],
      [{ '001_a.sql': 'CREATE TABLE t (id INTEGER);', 'seed.sql': 'INSERT INTO t VALUES (1);' }, /seed\.sql is not a numbered SQL file/],
    ];
    for (const [files, message] of cases) {
      const root = tmpDir();
      const from = writeFolder(path.join(root, 'app'), files);
      const before = tree(from);
      const r = await run(['import', 'app', '--stores', 'reg'], root);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/nothing was written/);
      expect(fs.existsSync(path.join(root, 'reg'))).toBe(false);
      expect(tree(from)).toEqual(before);
    }
  });

  it('refuses a FROM that is none of the three, saying what it reads', async () => {
    const root = tmpDir();
    fs.mkdirSync(path.join(root, 'empty'));
    fs.writeFileSync(path.join(root, 'notes.sql'), 'CREATE TABLE t (id INTEGER);');
    writeFolder(path.join(root, 'pg'), { 'meta/_journal.json': JSON.stringify({ version: '7', dialect: 'postgresql', entries: [{ idx: 0, when: 1, tag: '0000_x' }] }), '0000_x.sql': 'CREATE TABLE t (id serial);' });
    const cases: [string, RegExp][] = [
      ['missing', /missing: no such file or folder \(import reads a folder of numbered SQL files, a drizzle-kit migrations folder or a database file\)/],
      ['empty', /empty: no migration found: expected numbered SQL files/],
      ['notes.sql', /notes\.sql: cannot be read as a SQLite database: file is not a database/],
      ['pg', /the journal is for dialect "postgresql"; stores imports SQLite migrations only/],
    ];
    for (const [from, message] of cases) {
      const r = await run(['import', from, '--stores', 'reg', '--store', 'app'], root);
      expect(r.code, from).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(fs.existsSync(path.join(root, 'reg'))).toBe(false);
    const none = await run(['import', '--stores', 'reg'], root);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/Run 'stores --help' for usage/);
  });

  it('warns when the migrations leave rows that a file created from the baseline would lack', () => {
    const root = tmpDir();
    const from = writeFolder(path.join(root, 'app'), { '001_a.sql': "CREATE TABLE roles (name TEXT PRIMARY KEY); INSERT INTO roles VALUES ('admin');" });
    const result = importStore(from, path.join(root, 'reg'));
    expect(result.warnings.join('\n')).toMatch(/the migrations leave rows in roles: .*seed\.sql/);
  });

  it('refuses to overwrite an existing store folder (exit 2), leaving it as it was', async () => {
    const root = tmpDir();
    writeFolder(path.join(root, 'relay'), RELAY);
    expect((await run(['import', 'relay', '--stores', 'reg'], root)).code).toBe(0);
    const before = tree(path.join(root, 'reg'));
    const again = await run(['import', 'relay', '--stores', 'reg'], root);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/reg\/relay already exists: import never overwrites a store/);
    expect(tree(path.join(root, 'reg'))).toEqual(before);
    // --json: the error as one JSON document.
    const json = await run(['import', 'relay', '--stores', 'reg', '--json'], root);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).error.code).toBe('IMPORT_REFUSED');
    // Another store name, but the same file name as a store already there: refused too.
    fs.renameSync(path.join(root, 'reg', 'relay'), path.join(root, 'reg', 'other'));
    const clash = await run(['import', 'relay', '--stores', 'reg'], root);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/store other of .* already uses the file name relay\.db/);
  });

  it('refuses a folder name that is no store name unless --store names it', async () => {
    const root = tmpDir();
    writeFolder(path.join(root, '2024 migrations'), { '001_a.sql': 'CREATE TABLE t (id INTEGER);' });
    const r = await run(['import', '2024 migrations', '--stores', 'reg'], root);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"2024 migrations" is not a store name .* it comes from the folder name; name the store explicitly/);
    expect((await run(['import', '2024 migrations', '--stores', 'reg', '--store', 'app'], root)).code).toBe(0);
    expect(fs.existsSync(path.join(root, 'reg', 'app', 'store.json'))).toBe(true);
  });
});

describe('stores import: a drizzle-kit migrations folder', () => {
  it('is the folder drizzle-orm reads: its migrator applies it to a real file, and the imported baseline equals that file less __drizzle_migrations', async () => {
    const root = tmpDir();
    const from = writeFolder(path.join(root, 'drizzle'), DRIZZLE);
    const before = tree(from);
    const { recorded } = drizzleMigrated(from, path.join(root, 'by-drizzle.db'));
    expect(recorded).toEqual([1733000000000, 1733100000000, 1733200000000]);
    const r = await run(['import', 'drizzle', '--stores', 'reg', '--store', 'app', '--json'], root);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(tree(from)).toEqual(before);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ store: 'app', kind: 'drizzle', file: 'app.db', version: 3, minVersion: 1 });
    const dir = path.join(root, 'reg', 'app');
    const baseline = schemaOfText(fs.readFileSync(path.join(dir, 'schema.sql'), 'utf8'));
    const real = new Database(path.join(root, 'by-drizzle.db'));
    try {
      real.exec('DROP TABLE __drizzle_migrations');
      expect(sameMeaning(inspect(real), baseline)).toEqual([]);
    } finally {
      real.close();
    }
  });

  it('writes the drizzle history entry with the map from each created_at (the journal\'s when, as drizzle-orm reads it) to its version', () => {
    const root = tmpDir();
    const from = writeFolder(path.join(root, 'drizzle'), DRIZZLE);
    const result = importStore(from, path.join(root, 'reg'), { store: 'app' });
    const json = JSON.parse(fs.readFileSync(path.join(result.dir, 'store.json'), 'utf8'));
    const expected = Object.fromEntries(readMigrationFiles({ migrationsFolder: from }).map((m, i) => [String(m.folderMillis), i + 1]));
    expect(json.legacy).toEqual({ history: [{ tool: 'drizzle', map: expected }] });
    expect(result.history).toEqual(json.legacy.history);
  });

  it('turns the rebuild block into a -- stores:rebuild step: PRAGMAs stripped, the index the DROP TABLE dropped dropped first, the dropped column declared', () => {
    const root = tmpDir();
    const from = writeFolder(path.join(root, 'drizzle'), DRIZZLE);
    const result = importStore(from, path.join(root, 'reg'), { store: 'app' });
    const m3 = fs.readFileSync(path.join(result.dir, 'migrations', '003-users-rebuild.sql'), 'utf8');
    expect(m3).toBe(
      [
        '-- version 2 -> 3: imported by `stores import` from 0002_users_rebuild.sql (drizzle created_at 1733200000000)',
        '-- stores:destructive imported from 0002_users_rebuild.sql, which drops column users.nickname',
        'DROP INDEX "users_email_unique";',
        '-- stores:rebuild users',
        'CREATE TABLE `users` (\n\t`id` integer PRIMARY KEY NOT NULL,\n\t`name` text NOT NULL,\n\t`email` text,\n\t`created_at` integer DEFAULT 0 NOT NULL\n);',
        'CREATE UNIQUE INDEX `users_email_unique` ON `users` (`email`);',
        '',
      ].join('\n'),
    );
    const m2 = fs.readFileSync(path.join(result.dir, 'migrations', '002-add-posts.sql'), 'utf8');
    expect(m2).not.toMatch(/stores:destructive|statement-breakpoint/);
  });

  it('passes verify once loaded (the history entry included)', async () => {
    const root = tmpDir();
    writeFolder(path.join(root, 'drizzle'), DRIZZLE);
    expect((await run(['import', 'drizzle', '--stores', 'reg', '--store', 'app'], root)).code).toBe(0);
    const v = cli(['verify', '--stores', path.join(root, 'reg')]);
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
  });

  it('the drizzle history entry adopts files drizzle-orm\'s migrator kept, at every version, rows kept', async () => {
    const root = tmpDir();
    writeFolder(path.join(root, 'drizzle'), DRIZZLE);
    expect((await run(['import', 'drizzle', '--stores', 'reg', '--store', 'app'], root)).code).toBe(0);
    const journal = JSON.parse(DRIZZLE['meta/_journal.json']!);
    for (const k of [1, 2, 3]) {
      // The app at version k: a folder holding its first k migrations, applied by drizzle-orm.
      const partial = writeFolder(path.join(root, `drizzle-${k}`), { ...DRIZZLE, 'meta/_journal.json': JSON.stringify({ ...journal, entries: journal.entries.slice(0, k) }) });
      const data = path.join(root, `data-${k}`);
      fs.mkdirSync(data);
      const file = path.join(data, 'app.db');
      drizzleMigrated(partial, file);
      const db = new Database(file);
      db.exec("INSERT INTO users (id, name, email) VALUES (1, 'Ann', 'ann@x.org'), (2, 'Bob', 'bob@x.org')");
      if (k >= 2) db.exec("INSERT INTO posts (author_id, title) VALUES (1, 'hello')");
      db.close();
      const up = cli(['up', data, '--stores', path.join(root, 'reg'), '--json']);
      expect(up.code, `v${k}: ${up.stdout}${up.stderr}`).toBe(0);
      expect(JSON.parse(up.stdout).dirs[0].stores[0]).toMatchObject({ status: 'legacy', action: 'adopted' });
      const after = new Database(file, { readonly: true });
      try {
        expect(after.pragma('user_version', { simple: true })).toBe(3);
        expect(after.prepare("SELECT name FROM sqlite_schema WHERE name = '__drizzle_migrations'").get()).toBeUndefined();
        expect(after.prepare('SELECT id, name, email FROM users ORDER BY id').all()).toEqual([
          { id: 1, name: 'Ann', email: 'ann@x.org' },
          { id: 2, name: 'Bob', email: 'bob@x.org' },
        ]);
        expect(after.prepare('SELECT count(*) FROM posts').pluck().get()).toBe(k >= 2 ? 1 : 0);
      } finally {
        after.close();
      }
    }
  });

  it('refuses a rebuild block it cannot follow, naming the migration and the reason', async () => {
    const root = tmpDir();
    const filtered = DRIZZLE['0002_users_rebuild.sql']!.replace('FROM `users`;', 'FROM `users` WHERE `email` IS NOT NULL;');
    const from = writeFolder(path.join(root, 'drizzle'), { ...DRIZZLE, '0002_users_rebuild.sql': filtered });
    const r = await run(['import', 'drizzle', '--stores', 'reg', '--store', 'app'], root);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/0002_users_rebuild\.sql: the rebuild through __new_users cannot be imported: the copy of rows filters or joins .* a rebuild keeps every row; nothing was written/);
    expect(fs.existsSync(path.join(root, 'reg'))).toBe(false);
    expect(fs.readFileSync(path.join(from, '0002_users_rebuild.sql'), 'utf8')).toBe(filtered);
  });
});

/** dbmate migrations: one file per version, `-- migrate:up` and `-- migrate:down` sections. */
const DBMATE: Record<string, string> = {
  '20260101000001_create_users.sql': '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, old TEXT);\n\n-- migrate:down\nDROP TABLE users;\n',
  '20260101000002_drop_old.sql': '-- migrate:up\nALTER TABLE users DROP COLUMN old;\nCREATE INDEX users_name ON users(name);\n\n-- migrate:down\nDROP INDEX users_name;\nALTER TABLE users ADD COLUMN old TEXT;\n',
  '20260101000003_posts.sql': '-- migrate:up transaction:false\nCREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id));\n-- migrate:down\nDROP TABLE posts;\n',
};

/** Runs dbmate's npm binary (`dbmate up`) on `file` with the migrations of `dir`. */
function dbmateUp(dir: string, file: string): void {
  const r = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'dbmate'), ['--url', `sqlite:${file}`, '--migrations-dir', dir, '--no-dump-schema', 'up'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`dbmate up failed: ${r.stdout}${r.stderr}`);
}

describe('stores import: a dbmate folder (numbered files with -- migrate:up / -- migrate:down)', () => {
  it('takes each file\'s up section, writes the dbmate history with the map of its versions, and adopts files dbmate kept at every version', async () => {
    const root = tmpDir();
    const from = writeFolder(path.join(root, 'db'), DBMATE);
    const before = tree(from);
    const r = await run(['import', 'db', '--stores', 'reg', '--store', 'app', '--json'], root);
    expect(r.code, r.stderr).toBe(0);
    expect(tree(from)).toEqual(before);
    const out = JSON.parse(r.stdout);
    expect(out.history).toEqual([{ tool: 'dbmate', map: { '20260101000001': 1, '20260101000002': 2, '20260101000003': 3 } }]);
    const dir = path.join(root, 'reg', 'app');
    expect(fs.readFileSync(path.join(dir, 'migrations', '002-drop-old.sql'), 'utf8')).not.toMatch(/migrate:|ADD COLUMN old|DROP INDEX/);
    expect(fs.readFileSync(path.join(dir, 'migrations', '002-drop-old.sql'), 'utf8')).toMatch(/^-- stores:destructive imported from 20260101000002_drop_old\.sql, which drops column users\.old$/m);
    const names = Object.keys(DBMATE).sort();
    for (const k of [1, 2, 3]) {
      // The app at version k, migrated by dbmate itself.
      const partial = writeFolder(path.join(root, `db-${k}`), Object.fromEntries(names.slice(0, k).map((n) => [n, DBMATE[n]!])));
      const data = path.join(root, `data-${k}`);
      fs.mkdirSync(data);
      const file = path.join(data, 'app.db');
      dbmateUp(partial, file);
      const db = new Database(file);
      db.exec("INSERT INTO users (id, name) VALUES (1, 'Ann')");
      db.close();
      const up = cli(['up', data, '--stores', path.join(root, 'reg'), '--json']);
      expect(up.code, `v${k}: ${up.stdout}${up.stderr}`).toBe(0);
      expect(JSON.parse(up.stdout).dirs[0].stores[0]).toMatchObject({ status: 'legacy', action: 'adopted' });
      const after = new Database(file, { readonly: true });
      try {
        expect(after.pragma('user_version', { simple: true })).toBe(3);
        expect(after.prepare("SELECT name FROM sqlite_schema WHERE name = 'schema_migrations'").get()).toBeUndefined();
        expect(after.prepare('SELECT id, name FROM users').all()).toEqual([{ id: 1, name: 'Ann' }]);
      } finally {
        after.close();
      }
    }
  });

  it('refuses a folder where only some files are dbmate migrations', async () => {
    const root = tmpDir();
    writeFolder(path.join(root, 'db'), { ...DBMATE, '20260101000004_plain.sql': 'CREATE TABLE x (id INTEGER);' });
    const r = await run(['import', 'db', '--stores', 'reg', '--store', 'app'], root);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/some files are dbmate migrations .* and 20260101000004_plain\.sql is not/);
  });
});

describe('stores import: a live database file', () => {
  const SCHEMA = `CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE INDEX accounts_name ON accounts(name);
CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, account_id INTEGER REFERENCES accounts(id), at INTEGER);
CREATE VIEW named AS SELECT name FROM accounts;
CREATE TRIGGER events_at AFTER INSERT ON events BEGIN UPDATE events SET at = 1 WHERE id = new.id AND at IS NULL; END;
INSERT INTO accounts VALUES (1, 'a');`;

  it('writes the baseline at the file\'s user_version with minVersion equal to it and no migrations; the file is unchanged; verify passes; a copy of the file is current', async () => {
    const root = tmpDir();
    const file = path.join(root, 'live', 'app.db');
    fs.mkdirSync(path.dirname(file));
    const db = new Database(file);
    db.exec(SCHEMA);
    db.pragma('user_version = 7');
    db.close();
    const before = fingerprint(file);
    const r = await run(['import', 'live/app.db', '--stores', 'reg', '--json'], root);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(fingerprint(file)).toEqual(before);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ store: 'app', kind: 'file', version: 7, minVersion: 7, history: [], warnings: [] });
    const dir = path.join(root, 'reg', 'app');
    expect(Object.keys(tree(dir)).sort()).toEqual(['schema.sql', 'store.json', 'versions/007.sql']);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'store.json'), 'utf8'))).toMatchObject({ file: 'app.db', version: 7, minVersion: 7 });
    expect(sameMeaning(schemaOfText(SCHEMA), schemaOfText(fs.readFileSync(path.join(dir, 'schema.sql'), 'utf8')))).toEqual([]);
    const v = cli(['verify', '--stores', path.join(root, 'reg')]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    // The file itself, in a data dir, is current for the imported store.
    const data = path.join(root, 'data');
    fs.mkdirSync(data);
    fs.copyFileSync(file, path.join(data, 'app.db'));
    const check = cli(['check', data, '--stores', path.join(root, 'reg'), '--json']);
    expect(JSON.parse(check.stdout).dirs[0].stores[0].status, check.stdout).toBe('current');
  });

  it('reads a WAL file whose last transactions are still in the -wal, without changing the file or its -wal', async () => {
    const root = tmpDir();
    const file = path.join(root, 'app.db');
    const db = new Database(file);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('wal_autocheckpoint = 0');
      db.exec(SCHEMA);
      // The writer stays open: the tables are in app.db-wal only.
      expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(0);
      const before = fingerprint(file);
      const r = await run(['import', 'app.db', '--stores', 'reg'], root);
      expect(r.code, r.stderr).toBe(0);
      expect(fingerprint(file)).toEqual(before);
      const json = JSON.parse(fs.readFileSync(path.join(root, 'reg', 'app', 'store.json'), 'utf8'));
      expect(json).toMatchObject({ version: 1, minVersion: 1 });
      expect(sameMeaning(schemaOfText(SCHEMA), schemaOfText(fs.readFileSync(path.join(root, 'reg', 'app', 'schema.sql'), 'utf8')))).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('leaves the bookkeeping of the tool that kept a user_version 0 file out of the baseline and maps what it applied to that version: such files adopt; Litestream\'s tables are left out', async () => {
    const root = tmpDir();
    const journal = JSON.parse(DRIZZLE['meta/_journal.json']!);
    const partial = writeFolder(path.join(root, 'drizzle'), { ...DRIZZLE, 'meta/_journal.json': JSON.stringify({ ...journal, entries: journal.entries.slice(0, 2) }) });
    const file = path.join(root, 'app.db');
    drizzleMigrated(partial, file);
    const db = new Database(file);
    db.exec("CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER); INSERT INTO users (id, name) VALUES (1, 'Ann');");
    db.close();
    const before = fingerprint(file);
    const result = importStore(file, path.join(root, 'reg'));
    expect(fingerprint(file)).toEqual(before);
    expect(result.notes.join('\n')).toMatch(/__drizzle_migrations \(drizzle's bookkeeping\) is left out of the baseline; legacy\.history maps the 2 migrations it records to version 1/);
    expect(result.notes.join('\n')).toMatch(/_litestream_seq is left out of the baseline: it belongs to Litestream/);
    expect(result.warnings).toEqual([]);
    expect(fs.readFileSync(path.join(result.dir, 'schema.sql'), 'utf8')).not.toMatch(/__drizzle_migrations|_litestream/);
    const json = JSON.parse(fs.readFileSync(path.join(result.dir, 'store.json'), 'utf8'));
    expect(json).toMatchObject({ version: 1, minVersion: 1, legacy: { history: [{ tool: 'drizzle', map: { '1733000000000': 1, '1733100000000': 1 } }] } });
    // The file itself adopts with the imported store, its rows kept.
    const data = path.join(root, 'data');
    fs.mkdirSync(data);
    fs.copyFileSync(file, path.join(data, 'app.db'));
    const up = cli(['up', data, '--stores', path.join(root, 'reg'), '--json']);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(JSON.parse(up.stdout).dirs[0].stores[0]).toMatchObject({ status: 'legacy', action: 'adopted' });
    expect(new Database(path.join(data, 'app.db'), { readonly: true }).prepare('SELECT name FROM users').pluck().all()).toEqual(['Ann']);
  });

  it('writes no history for bookkeeping that records a dirty migration, and keeps bookkeeping in the baseline of a versioned file, saying so', () => {
    const root = tmpDir();
    // golang-migrate's table (database/sqlite3/sqlite3.go ensureVersionTable), left dirty at 2.
    const dirty = path.join(root, 'dirty.db');
    const d = new Database(dirty);
    d.exec('CREATE TABLE schema_migrations (version uint64, dirty bool); CREATE UNIQUE INDEX version_unique ON schema_migrations (version); INSERT INTO schema_migrations VALUES (2, 1); CREATE TABLE t (id INTEGER PRIMARY KEY);');
    d.close();
    const r1 = importStore(dirty, path.join(root, 'reg1'));
    expect(r1.history).toEqual([]);
    expect(r1.warnings.join('\n')).toMatch(/schema_migrations \(golang-migrate's bookkeeping\) is left out of the baseline, and no history entry is written: .*dirty/);
    expect(fs.readFileSync(path.join(r1.dir, 'schema.sql'), 'utf8')).not.toMatch(/schema_migrations/);
    const versioned = path.join(root, 'versioned.db');
    const v = new Database(versioned);
    v.exec('CREATE TABLE __drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric); CREATE TABLE t (id INTEGER PRIMARY KEY);');
    v.pragma('user_version = 4');
    v.close();
    const r2 = importStore(versioned, path.join(root, 'reg2'));
    expect(r2).toMatchObject({ version: 4, minVersion: 4, history: [] });
    expect(r2.warnings.join('\n')).toMatch(/__drizzle_migrations \(drizzle's bookkeeping\) is kept in the baseline: the file is versioned \(user_version 4\)/);
    expect(fs.readFileSync(path.join(r2.dir, 'schema.sql'), 'utf8')).toMatch(/__drizzle_migrations/);
  });

  it('refuses a file with no table of its own', () => {
    const root = tmpDir();
    const empty = path.join(root, 'empty.db');
    const e = new Database(empty);
    e.exec('CREATE TABLE __drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)');
    e.close();
    expect(() => importStore(empty, path.join(root, 'reg2'))).toThrow(ImportError);
    expect(() => importStore(empty, path.join(root, 'reg2'))).toThrow(/holds no table of its own/);
    expect(fs.existsSync(path.join(root, 'reg2'))).toBe(false);
  });
});

describe('virtual tables in what the engine writes from sqlite_schema', () => {
  it('stores freeze of a store with an FTS5 table writes a frozen schema that runs (its shadow tables left out), and verify passes', async () => {
    const root = tmpDir();
    const reg = path.join(root, 'reg');
    fs.mkdirSync(path.join(reg, 's'), { recursive: true });
    fs.writeFileSync(path.join(reg, 's', 'store.json'), JSON.stringify({ file: 's.db', version: 1 }));
    fs.writeFileSync(path.join(reg, 's', 'schema.sql'), 'CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT);\nCREATE VIRTUAL TABLE t_fts USING fts5(body);\n');
    expect((await run(['freeze', 's', '--stores', reg], root)).code).toBe(0);
    expect(fs.readFileSync(path.join(reg, 's', 'versions', '001.sql'), 'utf8')).not.toMatch(/t_fts_data/);
    const v = await run(['verify', '--stores', reg], root);
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
  });
});
