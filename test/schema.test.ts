import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { reconcileStore } from '../src/engine/reconcile.js';
import { createRegistry } from '../src/api.js';
import { snap, tmpDir, writeSql } from './helpers.js';
import { inspect, inspectCached, readMaster } from '../src/schema/inspect.js';
import { diff, describeChange } from '../src/schema/diff.js';
import type { Change } from '../src/schema/model.js';


function diffSql(expected: string, actual: string): Change[] {
  return diff(snap(expected), snap(actual));
}

/** Both directions must agree that the two scripts mean the same schema. */
function expectSame(a: string, b: string): void {
  expect(diffSql(a, b)).toEqual([]);
  expect(diffSql(b, a)).toEqual([]);
}

describe('equal by meaning', () => {
  const plain = `
CREATE TABLE teams (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  email TEXT NOT NULL COLLATE NOCASE UNIQUE,
  name TEXT DEFAULT 'anon',
  score REAL NOT NULL DEFAULT 0 CHECK (score >= 0),
  team_id INTEGER REFERENCES teams(id) ON DELETE SET NULL,
  full_name TEXT GENERATED ALWAYS AS (name || '@' || email) VIRTUAL,
  CHECK (length(email) > 3)
);
CREATE INDEX users_name ON users(name DESC) WHERE name IS NOT NULL;
CREATE UNIQUE INDEX teams_title ON teams(lower(title));
CREATE VIEW team_users AS SELECT u.id, t.title FROM users u JOIN teams t ON t.id = u.team_id;
CREATE TRIGGER users_ai AFTER INSERT ON users BEGIN UPDATE teams SET title = title WHERE id = new.team_id; END;
`;

  const respelled = `
-- the same schema, spelled differently
create table "Teams" ( [ID] integer primary key , "Title" text not null ) ;
CREATE   TABLE   [USERS]   (
  "Id"      Integer  Primary Key  AutoIncrement,  /* rowid alias */
  \`EMAIL\`   text     not null     collate "nocase"    unique,
  Name      TEXT     default ( 'anon' ),
  "SCORE"   real     NOT NULL DEFAULT (0) check ( ( "Score" >= 0 ) ),
  Team_Id   INTEGER  references [TEAMS] ( "Id" ) on delete set null,
  "Full_Name" text   generated always as ( "Name"||'@'||[Email] ) virtual,
  check(LENGTH("Email")>3)
)
;
create index "USERS_NAME" on "users" ( "Name" desc ) where "NAME" is not null;
create unique index [Teams_Title] on TEAMS ( LOWER ( "TITLE" ) ) ;
create view "Team_Users" as select U.ID,T.Title from USERS U join "teams" T on T.Id=U.Team_Id;
create trigger [Users_AI] after insert on "USERS" begin
  update TEAMS set "title" = Title where ID = NEW.team_id ;
end;
`;

  it('the same schema with different quoting, case, white space and comments gives no difference', () => {
    expectSame(plain, respelled);
  });

  it('the respelled schema is not trivially identical text (the test compares something)', () => {
    const db = new Database(':memory:');
    try {
      db.exec(respelled);
      const sql = db.prepare(`SELECT group_concat(sql, ';') FROM sqlite_schema`).pluck().get() as string;
      expect(sql).toContain('"');
      expect(sql).toContain('[');
      expect(sql).toContain('/*');
    } finally {
      db.close();
    }
  });

  it('REFERENCES t equals REFERENCES t(id) when id is the primary key of t', () => {
    expectSame(
      'CREATE TABLE t(id INTEGER PRIMARY KEY); CREATE TABLE c(x INTEGER REFERENCES t);',
      'CREATE TABLE t(id INTEGER PRIMARY KEY); CREATE TABLE c(x INTEGER REFERENCES t(id));',
    );
    expectSame(
      'CREATE TABLE t(a, b, PRIMARY KEY (a, b)); CREATE TABLE c(x, y, FOREIGN KEY (x, y) REFERENCES t);',
      'CREATE TABLE t(a, b, PRIMARY KEY (a, b)); CREATE TABLE c(x, y, FOREIGN KEY (x, y) REFERENCES t(a, b));',
    );
  });

  it('REFERENCES t differs from REFERENCES t(other) when other is not the primary key', () => {
    const changes = diffSql(
      'CREATE TABLE t(id INTEGER PRIMARY KEY, code TEXT UNIQUE); CREATE TABLE c(x REFERENCES t);',
      'CREATE TABLE t(id INTEGER PRIMARY KEY, code TEXT UNIQUE); CREATE TABLE c(x REFERENCES t(code));',
    );
    expect(changes).toContainEqual(expect.objectContaining({ object: 'foreign-key', change: 'missing', table: 'c' }));
  });

  it('a column-level FOREIGN KEY equals the same key declared at table level', () => {
    expectSame(
      'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(pid INTEGER REFERENCES p(id) ON DELETE CASCADE);',
      'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(pid INTEGER, FOREIGN KEY (pid) REFERENCES p(id) ON DELETE CASCADE);',
    );
  });

  it('a CHECK at column level equals the same CHECK at table level', () => {
    expectSame('CREATE TABLE t(a INTEGER CHECK (a > 0), b TEXT)', 'CREATE TABLE t(a INTEGER, b TEXT, CHECK (a > 0))');
    expectSame(
      'CREATE TABLE t(a INTEGER CONSTRAINT positive CHECK ((a > 0)))',
      'CREATE TABLE t(a INTEGER, CONSTRAINT other_name CHECK (a>0))',
    );
  });

  it('several CHECKs compare as a set, whatever their order', () => {
    expectSame('CREATE TABLE t(a, b, CHECK (a > 0), CHECK (b < 9))', 'CREATE TABLE t(a CHECK (b < 9), b CHECK (a > 0))');
  });

  it('a column-level UNIQUE equals a table-level UNIQUE on the same column', () => {
    expectSame('CREATE TABLE t(a TEXT UNIQUE, b)', 'CREATE TABLE t(a TEXT, b, UNIQUE (a))');
  });

  it('a column-level PRIMARY KEY equals a table-level PRIMARY KEY on the same column', () => {
    expectSame('CREATE TABLE t(id INTEGER PRIMARY KEY, b)', 'CREATE TABLE t(id INTEGER, b, PRIMARY KEY (id))');
  });

  it('CREATE TABLE IF NOT EXISTS equals plain CREATE TABLE (and likewise for indexes, views, triggers)', () => {
    expectSame(
      `CREATE TABLE t(a INTEGER, b TEXT);
       CREATE INDEX ix ON t(b);
       CREATE VIEW v AS SELECT a FROM t;
       CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END;`,
      `CREATE TABLE IF NOT EXISTS t(a INTEGER, b TEXT);
       CREATE INDEX IF NOT EXISTS ix ON t(b);
       CREATE VIEW IF NOT EXISTS v AS SELECT a FROM t;
       CREATE TRIGGER IF NOT EXISTS tr AFTER INSERT ON t BEGIN SELECT 1; END;`,
    );
  });

  it('GENERATED ALWAYS AS equals the short AS form, and VIRTUAL is the default', () => {
    expectSame('CREATE TABLE t(a INT, b INT GENERATED ALWAYS AS (a * 2) VIRTUAL)', 'CREATE TABLE t(a INT, b INT AS (a*2))');
  });

  it('an index term with ASC equals the term without it', () => {
    expectSame('CREATE TABLE t(a, b); CREATE INDEX ix ON t(a ASC, b)', 'CREATE TABLE t(a, b); CREATE INDEX ix ON t(a, b asc)');
  });

  it('DEFAULT x equals DEFAULT (x), and blob literals compare regardless of case', () => {
    expectSame(
      `CREATE TABLE t(a DEFAULT 'x', b DEFAULT -1, c DEFAULT X'0AFF', d DEFAULT CURRENT_TIMESTAMP)`,
      `CREATE TABLE t(a DEFAULT ('x'), b DEFAULT (-1), c DEFAULT x'0aff', d DEFAULT current_timestamp)`,
    );
  });

  it('== equals =, <> equals !=, in CHECKs, partial indexes and triggers', () => {
    expectSame(
      'CREATE TABLE t(a, b, CHECK (a == 1)); CREATE INDEX ix ON t(a) WHERE b <> 0; CREATE TRIGGER tr AFTER INSERT ON t WHEN new.a == 2 BEGIN SELECT 1; END',
      'CREATE TABLE t(a, b, CHECK (a = 1)); CREATE INDEX ix ON t(a) WHERE b != 0; CREATE TRIGGER tr AFTER INSERT ON t WHEN new.a = 2 BEGIN SELECT 1; END',
    );
  });

  it('COLLATE BINARY, ON CONFLICT ABORT, MATCH and a lone DEFERRABLE are what SQLite does without them', () => {
    expectSame(
      'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(a TEXT COLLATE BINARY NOT NULL ON CONFLICT ABORT UNIQUE ON CONFLICT ABORT REFERENCES p(id) MATCH FULL DEFERRABLE)',
      'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(a TEXT NOT NULL UNIQUE REFERENCES p(id))',
    );
  });

  it('a DEFERRABLE clause standing on its own, even on another column, applies to the foreign key declared last, as in SQLite', () => {
    const db = new Database(':memory:');
    try {
      db.exec(`PRAGMA foreign_keys = ON; CREATE TABLE p(id INTEGER PRIMARY KEY);
        CREATE TABLE c(x REFERENCES p(id), y REFERENCES p(id), z INTEGER DEFAULT 0 DEFERRABLE INITIALLY DEFERRED); BEGIN;`);
      db.exec('INSERT INTO c (x, y) VALUES (NULL, 1)'); // y's key is deferred: no error before COMMIT
      expect(() => db.exec('INSERT INTO c (x, y) VALUES (1, NULL)')).toThrow(/FOREIGN KEY/); // x's is not
      const fks = inspect(db).tables.c!.foreignKeys;
      expect(Object.fromEntries(fks.map((fk) => [fk.from[0], fk.deferred]))).toEqual({ x: false, y: true });
    } finally {
      db.close();
    }
  });

  it('type names compare regardless of case', () => {
    expectSame('CREATE TABLE t(a varchar(10), b Text)', 'CREATE TABLE t(a VARCHAR(10), b TEXT)');
  });

  // Product bug: inspect() keeps the declared type as pragma_table_xinfo reports it, which is the
  // text as written; only runs of white space are folded, so `VARCHAR( 10 )` and `VARCHAR(10)` differ.
  // Actual: [{ change: 'changed', object: 'column', name: 'a', expected: 'VARCHAR( 10 )', actual: 'VARCHAR(10)' }].
  it('type names compare regardless of white space inside the parentheses', () => {
    expectSame('CREATE TABLE t(a VARCHAR( 10 ), b DECIMAL(10, 2))', 'CREATE TABLE t(a VARCHAR(10), b DECIMAL(10,2))');
  });

  // Product bug: `DEFAULT abc` (a bare identifier) means the string 'abc' to SQLite, so it is the same
  // default as DEFAULT 'abc'; canonicalExpr compares `abc` with `'abc'` and reports a change.
  it("DEFAULT abc (a bare word, which SQLite stores as the string 'abc') equals DEFAULT 'abc'", () => {
    const db = new Database(':memory:');
    try {
      db.exec(`CREATE TABLE t(id, a DEFAULT abc); INSERT INTO t(id) VALUES (1)`);
      expect(db.prepare('SELECT a FROM t').pluck().get()).toBe('abc');
    } finally {
      db.close();
    }
    expectSame('CREATE TABLE t(id, a DEFAULT abc)', `CREATE TABLE t(id, a DEFAULT 'abc')`);
  });
});

describe('a table statement is parsed once per text', () => {
  // inspect keeps what each CREATE TABLE text says (src/schema/inspect.ts): the same text again
  // must give the same table, and any other text its own, however alike.
  const table = (check: string) => `CREATE TABLE jobs (id INTEGER PRIMARY KEY, state TEXT NOT NULL CHECK (${check}))`;

  it('the same text in two files gives the same table', () => {
    const a = snap(table("state IN ('new', 'done')"));
    const b = snap(table("state IN ('new', 'done')"));
    expect(diff(a, b)).toEqual([]);
    expect(b.tables.jobs).toEqual(a.tables.jobs);
  });

  it('a text that differs in one CHECK, after the first was parsed, is read for itself', () => {
    const first = snap(table("state IN ('new', 'done')"));
    const other = snap(table("state IN ('new', 'done', 'failed')"));
    expect(diff(first, other).map(describeChange).join('\n')).toMatch(/failed/);
    expect(diff(other, snap(table("state IN ('new', 'done', 'failed')")))).toEqual([]);
  });

  it('a table with the same name and other columns in another file is not the first one', () => {
    snap('CREATE TABLE jobs (id INTEGER PRIMARY KEY)');
    const wider = snap('CREATE TABLE jobs (id INTEGER PRIMARY KEY, note TEXT COLLATE NOCASE)');
    expect(wider.tables.jobs!.columns.map((c) => c.name)).toEqual(['id', 'note']);
    expect(wider.tables.jobs!.columns[1]!.collate).toBe('NOCASE');
  });
});

describe('ALTER TABLE … RENAME rewrites', () => {
  const before = `
CREATE TABLE old_parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE child (
  id INTEGER PRIMARY KEY,
  parent_id INTEGER NOT NULL REFERENCES old_parent(id) ON DELETE CASCADE
);
CREATE TABLE audit (msg TEXT);
CREATE INDEX old_parent_name ON old_parent(name);
CREATE VIEW parent_children AS
  SELECT old_parent.id AS pid, old_parent.name, child.id AS cid
    FROM old_parent JOIN child ON child.parent_id = old_parent.id;
CREATE TRIGGER parent_ad AFTER DELETE ON old_parent BEGIN
  INSERT INTO audit VALUES ('deleted ' || old.name);
END;
CREATE TRIGGER child_ai AFTER INSERT ON child BEGIN
  UPDATE old_parent SET name = name WHERE id = new.parent_id;
END;
`;
  const fresh = before.replaceAll('old_parent(', 'parent(').replaceAll('old_parent', 'parent').replace('parent_name ON', 'old_parent_name ON');

  it('a database renamed in place equals one created fresh with the new name', () => {
    const db = new Database(':memory:');
    try {
      db.exec(before);
      db.exec('ALTER TABLE old_parent RENAME TO parent');
      const rows = db.prepare(`SELECT type, name, sql FROM sqlite_schema ORDER BY name`).all() as {
        type: string;
        name: string;
        sql: string;
      }[];
      const sqlOf = (name: string) => rows.find((r) => r.name === name)!.sql;
      // SQLite really rewrote the dependent objects, with quotes: the text is not what `fresh` says.
      expect(sqlOf('child')).toContain('REFERENCES "parent"');
      expect(sqlOf('parent_children')).toContain('"parent"');
      expect(sqlOf('parent_ad')).toContain('ON "parent"');
      expect(sqlOf('child_ai')).toContain('UPDATE "parent"');
      expect(sqlOf('old_parent_name')).toContain('ON "parent"');
      for (const r of rows) expect(r.sql).not.toMatch(/old_parent\b(?!_name)/);

      // Sanity: the fresh script really uses `parent` unquoted everywhere, so text differs.
      expect(fresh).not.toContain('old_parent(');
      expect(fresh).not.toContain('"parent"');

      const renamed = inspect(db);
      const created = snap(fresh);
      expect(diff(created, renamed)).toEqual([]);
      expect(diff(renamed, created)).toEqual([]);
      expect(Object.keys(renamed.tables).sort()).toEqual(['audit', 'child', 'parent']);
      expect(renamed.tables.child!.foreignKeys[0]).toMatchObject({ table: 'parent', to: ['id'], onDelete: 'CASCADE' });
    } finally {
      db.close();
    }
  });

  it('a renamed column equals one created fresh with the new name, in CHECKs, indexes and generated columns', () => {
    // The definition quotes the name, so SQLite's rewrite quotes the new name there.
    const base = `
CREATE TABLE t (id INTEGER PRIMARY KEY, "qty" INTEGER CHECK (qty >= 0), double_qty INTEGER AS (qty * 2));
CREATE INDEX t_qty ON t(qty) WHERE qty > 0;`;
    const fresh = `
CREATE TABLE t (id INTEGER PRIMARY KEY, amount INTEGER CHECK (amount >= 0), double_qty INTEGER AS (amount * 2));
CREATE INDEX t_qty ON t(amount) WHERE amount > 0;`;
    const renamed = snap(base, (db) => {
      db.exec('ALTER TABLE t RENAME COLUMN qty TO amount');
      const sql = db.prepare(`SELECT group_concat(sql, ';') FROM sqlite_schema`).pluck().get() as string;
      expect(sql).toContain('"amount"');
      expect(sql).not.toMatch(/\bqty\b/);
    });
    expect(diff(snap(fresh), renamed)).toEqual([]);
    expect(diff(renamed, snap(fresh))).toEqual([]);
    expect(diff(snap(fresh.replace('amount * 2', 'amount * 3')), renamed)).toContainEqual(
      expect.objectContaining({ object: 'column', name: 'double_qty', change: 'changed' }),
    );
  });

  it('the rename is still checked: a fresh database with a different child is told apart', () => {
    const db = new Database(':memory:');
    try {
      db.exec(before);
      db.exec('ALTER TABLE old_parent RENAME TO parent');
      const other = snap(fresh.replace('ON DELETE CASCADE', 'ON DELETE RESTRICT'));
      expect(diff(other, inspect(db))).toContainEqual(
        expect.objectContaining({ object: 'foreign-key', table: 'child', change: 'missing' }),
      );
    } finally {
      db.close();
    }
  });
});

interface Case {
  readonly what: string;
  readonly expected: string;
  readonly actual: string;
  readonly change: Change['change'];
  readonly object: Change['object'];
  readonly table: string;
  readonly name?: string;
  /** Table named by the change when expected and actual are swapped, if not `table`. */
  readonly flippedTable?: string;
}

const cases: Case[] = [
  // tables
  { what: 'table missing', expected: 'CREATE TABLE a(x); CREATE TABLE b(y)', actual: 'CREATE TABLE a(x)', change: 'missing', object: 'table', table: 'b' },
  { what: 'table extra', expected: 'CREATE TABLE a(x)', actual: 'CREATE TABLE a(x); CREATE TABLE b(y)', change: 'extra', object: 'table', table: 'b' },

  // columns
  { what: 'column missing', expected: 'CREATE TABLE t(a, b TEXT)', actual: 'CREATE TABLE t(a)', change: 'missing', object: 'column', table: 't', name: 'b' },
  { what: 'column extra', expected: 'CREATE TABLE t(a)', actual: 'CREATE TABLE t(a, b TEXT)', change: 'extra', object: 'column', table: 't', name: 'b' },
  { what: 'column type', expected: 'CREATE TABLE t(a, b TEXT)', actual: 'CREATE TABLE t(a, b INTEGER)', change: 'changed', object: 'column', table: 't', name: 'b' },
  { what: 'column type vs no type', expected: 'CREATE TABLE t(a, b TEXT)', actual: 'CREATE TABLE t(a, b)', change: 'changed', object: 'column', table: 't', name: 'b' },
  { what: 'column NOT NULL', expected: 'CREATE TABLE t(a, b TEXT NOT NULL)', actual: 'CREATE TABLE t(a, b TEXT)', change: 'changed', object: 'column', table: 't', name: 'b' },
  { what: 'column DEFAULT value', expected: 'CREATE TABLE t(a, b INT DEFAULT 0)', actual: 'CREATE TABLE t(a, b INT DEFAULT 1)', change: 'changed', object: 'column', table: 't', name: 'b' },
  { what: 'column DEFAULT absent', expected: `CREATE TABLE t(a, b TEXT DEFAULT '')`, actual: 'CREATE TABLE t(a, b TEXT)', change: 'changed', object: 'column', table: 't', name: 'b' },
  { what: 'column DEFAULT string case', expected: `CREATE TABLE t(a, b TEXT DEFAULT 'X')`, actual: `CREATE TABLE t(a, b TEXT DEFAULT 'x')`, change: 'changed', object: 'column', table: 't', name: 'b' },
  { what: 'column primary key', expected: 'CREATE TABLE t(a INTEGER PRIMARY KEY, b)', actual: 'CREATE TABLE t(a INTEGER, b)', change: 'missing', object: 'primary-key', table: 't', name: 'primary key' },
  { what: 'primary key column order', expected: 'CREATE TABLE t(a, b, PRIMARY KEY (a, b))', actual: 'CREATE TABLE t(a, b, PRIMARY KEY (b, a))', change: 'changed', object: 'primary-key', table: 't', name: 'primary key' },
  { what: 'column collation added', expected: 'CREATE TABLE t(a, b TEXT COLLATE NOCASE)', actual: 'CREATE TABLE t(a, b TEXT)', change: 'changed', object: 'column', table: 't', name: 'b' },
  { what: 'column collation changed', expected: 'CREATE TABLE t(a, b TEXT COLLATE NOCASE)', actual: 'CREATE TABLE t(a, b TEXT COLLATE RTRIM)', change: 'changed', object: 'column', table: 't', name: 'b' },
  { what: 'generated VIRTUAL vs STORED', expected: 'CREATE TABLE t(a INT, b INT AS (a * 2) VIRTUAL)', actual: 'CREATE TABLE t(a INT, b INT AS (a * 2) STORED)', change: 'changed', object: 'column', table: 't', name: 'b' },
  { what: 'generated expression', expected: 'CREATE TABLE t(a INT, b INT AS (a * 2))', actual: 'CREATE TABLE t(a INT, b INT AS (a * 3))', change: 'changed', object: 'column', table: 't', name: 'b' },
  { what: 'generated vs ordinary column', expected: 'CREATE TABLE t(a INT, b INT AS (a * 2))', actual: 'CREATE TABLE t(a INT, b INT)', change: 'changed', object: 'column', table: 't', name: 'b' },
  { what: 'column order', expected: 'CREATE TABLE t(a, b, c)', actual: 'CREATE TABLE t(a, c, b)', change: 'changed', object: 'table-option', table: 't', name: 'column order' },

  // indexes
  { what: 'index missing', expected: 'CREATE TABLE t(a, b); CREATE INDEX ix ON t(a)', actual: 'CREATE TABLE t(a, b)', change: 'missing', object: 'index', table: 't', name: 'ix' },
  { what: 'index extra', expected: 'CREATE TABLE t(a, b)', actual: 'CREATE TABLE t(a, b); CREATE INDEX ix ON t(a)', change: 'extra', object: 'index', table: 't', name: 'ix' },
  { what: 'index unique', expected: 'CREATE TABLE t(a, b); CREATE UNIQUE INDEX ix ON t(a)', actual: 'CREATE TABLE t(a, b); CREATE INDEX ix ON t(a)', change: 'changed', object: 'index', table: 't', name: 'ix' },
  { what: 'index partial WHERE added', expected: 'CREATE TABLE t(a, b); CREATE INDEX ix ON t(a) WHERE b IS NOT NULL', actual: 'CREATE TABLE t(a, b); CREATE INDEX ix ON t(a)', change: 'changed', object: 'index', table: 't', name: 'ix' },
  { what: 'index partial WHERE changed', expected: 'CREATE TABLE t(a, b); CREATE INDEX ix ON t(a) WHERE b > 0', actual: 'CREATE TABLE t(a, b); CREATE INDEX ix ON t(a) WHERE b > 1', change: 'changed', object: 'index', table: 't', name: 'ix' },
  { what: 'index expression term', expected: 'CREATE TABLE t(a, b); CREATE INDEX ix ON t(lower(b))', actual: 'CREATE TABLE t(a, b); CREATE INDEX ix ON t(upper(b))', change: 'changed', object: 'index', table: 't', name: 'ix' },
  { what: 'index expression vs plain column', expected: 'CREATE TABLE t(a, b); CREATE INDEX ix ON t(lower(b))', actual: 'CREATE TABLE t(a, b); CREATE INDEX ix ON t(b)', change: 'changed', object: 'index', table: 't', name: 'ix' },
  { what: 'index DESC', expected: 'CREATE TABLE t(a, b); CREATE INDEX ix ON t(a DESC)', actual: 'CREATE TABLE t(a, b); CREATE INDEX ix ON t(a)', change: 'changed', object: 'index', table: 't', name: 'ix' },
  { what: 'index term order', expected: 'CREATE TABLE t(a, b); CREATE INDEX ix ON t(a, b)', actual: 'CREATE TABLE t(a, b); CREATE INDEX ix ON t(b, a)', change: 'changed', object: 'index', table: 't', name: 'ix' },
  { what: 'index term collation', expected: 'CREATE TABLE t(a, b); CREATE INDEX ix ON t(b COLLATE NOCASE)', actual: 'CREATE TABLE t(a, b); CREATE INDEX ix ON t(b)', change: 'changed', object: 'index', table: 't', name: 'ix' },
  { what: 'index on another table', expected: 'CREATE TABLE t(a); CREATE TABLE u(a); CREATE INDEX ix ON t(a)', actual: 'CREATE TABLE t(a); CREATE TABLE u(a); CREATE INDEX ix ON u(a)', change: 'changed', object: 'index', table: 't', name: 'ix', flippedTable: 'u' },

  // foreign keys
  {
    what: 'foreign key target table',
    expected: 'CREATE TABLE p1(id INTEGER PRIMARY KEY); CREATE TABLE p2(id INTEGER PRIMARY KEY); CREATE TABLE c(pid REFERENCES p1(id))',
    actual: 'CREATE TABLE p1(id INTEGER PRIMARY KEY); CREATE TABLE p2(id INTEGER PRIMARY KEY); CREATE TABLE c(pid REFERENCES p2(id))',
    change: 'missing', object: 'foreign-key', table: 'c',
  },
  {
    what: 'foreign key child column',
    expected: 'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(a, b, FOREIGN KEY (a) REFERENCES p(id))',
    actual: 'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(a, b, FOREIGN KEY (b) REFERENCES p(id))',
    change: 'missing', object: 'foreign-key', table: 'c',
  },
  {
    what: 'foreign key parent column',
    expected: 'CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT UNIQUE); CREATE TABLE c(a REFERENCES p(id))',
    actual: 'CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT UNIQUE); CREATE TABLE c(a REFERENCES p(code))',
    change: 'missing', object: 'foreign-key', table: 'c',
  },
  {
    what: 'foreign key ON DELETE',
    expected: 'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(a REFERENCES p(id) ON DELETE CASCADE)',
    actual: 'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(a REFERENCES p(id) ON DELETE SET NULL)',
    change: 'missing', object: 'foreign-key', table: 'c',
  },
  {
    what: 'foreign key ON DELETE absent',
    expected: 'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(a REFERENCES p(id) ON DELETE CASCADE)',
    actual: 'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(a REFERENCES p(id))',
    change: 'missing', object: 'foreign-key', table: 'c',
  },
  {
    what: 'foreign key ON UPDATE',
    expected: 'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(a REFERENCES p(id) ON UPDATE CASCADE)',
    actual: 'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(a REFERENCES p(id) ON UPDATE RESTRICT)',
    change: 'missing', object: 'foreign-key', table: 'c',
  },
  {
    what: 'foreign key removed',
    expected: 'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(a REFERENCES p(id))',
    actual: 'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(a)',
    change: 'missing', object: 'foreign-key', table: 'c',
  },

  // constraints and options
  // issue 10: what the model used not to read (each was `no difference` before)
  {
    what: 'foreign key DEFERRABLE INITIALLY DEFERRED',
    expected: 'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(a REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)',
    actual: 'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(a REFERENCES p(id))',
    change: 'missing', object: 'foreign-key', table: 'c',
  },
  {
    what: 'table-level foreign key DEFERRABLE INITIALLY DEFERRED',
    expected: 'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(a, FOREIGN KEY (a) REFERENCES p(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED)',
    actual: 'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(a, FOREIGN KEY (a) REFERENCES p(id) ON DELETE CASCADE)',
    change: 'missing', object: 'foreign-key', table: 'c',
  },
  { what: 'UNIQUE constraint collation', expected: 'CREATE TABLE t(u TEXT, UNIQUE (u COLLATE NOCASE))', actual: 'CREATE TABLE t(u TEXT, UNIQUE (u))', change: 'missing', object: 'unique', table: 't' },
  { what: 'UNIQUE constraint ON CONFLICT', expected: 'CREATE TABLE t(u TEXT, UNIQUE (u) ON CONFLICT REPLACE)', actual: 'CREATE TABLE t(u TEXT, UNIQUE (u))', change: 'missing', object: 'unique', table: 't' },
  { what: 'column UNIQUE ON CONFLICT', expected: 'CREATE TABLE t(u TEXT UNIQUE ON CONFLICT IGNORE)', actual: 'CREATE TABLE t(u TEXT UNIQUE)', change: 'missing', object: 'unique', table: 't' },
  {
    what: 'UNIQUE (u COLLATE NOCASE) ON CONFLICT REPLACE vs UNIQUE (u)',
    expected: 'CREATE TABLE t(id INTEGER PRIMARY KEY, u TEXT, UNIQUE (u COLLATE NOCASE) ON CONFLICT REPLACE)',
    actual: 'CREATE TABLE t(id INTEGER PRIMARY KEY, u TEXT, UNIQUE (u))',
    change: 'missing', object: 'unique', table: 't',
  },
  {
    what: 'UNIQUE on the rowid column keeps its own ON CONFLICT, not the primary key\'s',
    expected: 'CREATE TABLE t(id INTEGER PRIMARY KEY ON CONFLICT IGNORE, UNIQUE (id) ON CONFLICT REPLACE)',
    actual: 'CREATE TABLE t(id INTEGER PRIMARY KEY ON CONFLICT IGNORE, UNIQUE (id))',
    change: 'missing', object: 'unique', table: 't',
  },
  {
    what: 'a UNIQUE on the primary key columns is that key, with its ON CONFLICT',
    expected: 'CREATE TABLE t(k TEXT PRIMARY KEY, v, UNIQUE (k) ON CONFLICT REPLACE)',
    actual: 'CREATE TABLE t(k TEXT PRIMARY KEY, v, UNIQUE (k))',
    change: 'changed', object: 'primary-key', table: 't', name: 'primary key',
  },
  { what: 'NOT NULL ON CONFLICT', expected: 'CREATE TABLE t(a, b TEXT NOT NULL ON CONFLICT REPLACE DEFAULT 0)', actual: 'CREATE TABLE t(a, b TEXT NOT NULL DEFAULT 0)', change: 'changed', object: 'column', table: 't', name: 'b' },
  { what: 'PRIMARY KEY ON CONFLICT', expected: 'CREATE TABLE t(k TEXT PRIMARY KEY ON CONFLICT REPLACE, v)', actual: 'CREATE TABLE t(k TEXT PRIMARY KEY, v)', change: 'changed', object: 'primary-key', table: 't', name: 'primary key' },
  { what: 'rowid PRIMARY KEY ON CONFLICT', expected: 'CREATE TABLE t(id INTEGER PRIMARY KEY ON CONFLICT IGNORE, v)', actual: 'CREATE TABLE t(id INTEGER PRIMARY KEY, v)', change: 'changed', object: 'primary-key', table: 't', name: 'primary key' },
  { what: 'PRIMARY KEY collation', expected: 'CREATE TABLE t(k TEXT, v, PRIMARY KEY (k COLLATE NOCASE))', actual: 'CREATE TABLE t(k TEXT, v, PRIMARY KEY (k))', change: 'changed', object: 'primary-key', table: 't', name: 'primary key' },
  { what: 'PRIMARY KEY DESC', expected: 'CREATE TABLE t(k TEXT, v, PRIMARY KEY (k DESC))', actual: 'CREATE TABLE t(k TEXT, v, PRIMARY KEY (k))', change: 'changed', object: 'primary-key', table: 't', name: 'primary key' },
  // `INTEGER PRIMARY KEY DESC` on the column is no rowid alias (https://www.sqlite.org/lang_createtable.html#rowid)
  { what: 'INTEGER PRIMARY KEY DESC is not the rowid', expected: 'CREATE TABLE t(id INTEGER PRIMARY KEY, v)', actual: 'CREATE TABLE t(id INTEGER PRIMARY KEY DESC, v)', change: 'changed', object: 'primary-key', table: 't', name: 'primary key' },
  { what: 'view column list', expected: 'CREATE TABLE t(a, b); CREATE VIEW v(x) AS SELECT a FROM t', actual: 'CREATE TABLE t(a, b); CREATE VIEW v(y) AS SELECT a FROM t', change: 'changed', object: 'view', table: 'v', name: 'v' },
  {
    what: 'trigger UPDATE OF columns',
    expected: 'CREATE TABLE t(a, b); CREATE TRIGGER tr AFTER UPDATE OF a ON t BEGIN SELECT 1; END',
    actual: 'CREATE TABLE t(a, b); CREATE TRIGGER tr AFTER UPDATE OF b ON t BEGIN SELECT 1; END',
    change: 'changed', object: 'trigger', table: 'tr', name: 'tr',
  },
  {
    what: 'trigger WHEN',
    expected: 'CREATE TABLE t(a, b); CREATE TRIGGER tr AFTER UPDATE ON t WHEN new.a > 0 BEGIN SELECT 1; END',
    actual: 'CREATE TABLE t(a, b); CREATE TRIGGER tr AFTER UPDATE ON t BEGIN SELECT 1; END',
    change: 'changed', object: 'trigger', table: 'tr', name: 'tr',
  },

  { what: 'CHECK changed', expected: 'CREATE TABLE t(a, CHECK (a > 0))', actual: 'CREATE TABLE t(a, CHECK (a >= 0))', change: 'missing', object: 'check', table: 't' },
  { what: 'CHECK removed', expected: 'CREATE TABLE t(a CHECK (a > 0))', actual: 'CREATE TABLE t(a)', change: 'missing', object: 'check', table: 't' },
  { what: 'CHECK added', expected: 'CREATE TABLE t(a)', actual: `CREATE TABLE t(a CHECK (a <> ''))`, change: 'extra', object: 'check', table: 't' },
  { what: 'UNIQUE constraint removed', expected: 'CREATE TABLE t(a, b, UNIQUE (a))', actual: 'CREATE TABLE t(a, b)', change: 'missing', object: 'unique', table: 't' },
  { what: 'UNIQUE constraint columns', expected: 'CREATE TABLE t(a, b, UNIQUE (a, b))', actual: 'CREATE TABLE t(a, b, UNIQUE (a))', change: 'missing', object: 'unique', table: 't' },
  { what: 'UNIQUE constraint vs UNIQUE INDEX', expected: 'CREATE TABLE t(a, b UNIQUE)', actual: 'CREATE TABLE t(a, b); CREATE UNIQUE INDEX ub ON t(b)', change: 'missing', object: 'unique', table: 't' },
  { what: 'AUTOINCREMENT', expected: 'CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT, a)', actual: 'CREATE TABLE t(id INTEGER PRIMARY KEY, a)', change: 'changed', object: 'primary-key', table: 't', name: 'primary key' },
  { what: 'WITHOUT ROWID', expected: 'CREATE TABLE t(k TEXT PRIMARY KEY, v) WITHOUT ROWID', actual: 'CREATE TABLE t(k TEXT PRIMARY KEY, v)', change: 'changed', object: 'table-option', table: 't', name: 'withoutRowid' },
  { what: 'STRICT', expected: 'CREATE TABLE t(a INTEGER, b TEXT) STRICT', actual: 'CREATE TABLE t(a INTEGER, b TEXT)', change: 'changed', object: 'table-option', table: 't', name: 'strict' },

  // triggers and views
  {
    what: 'trigger body changed',
    expected: 'CREATE TABLE t(a); CREATE TABLE log(x); CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.a); END',
    actual: 'CREATE TABLE t(a); CREATE TABLE log(x); CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.a + 1); END',
    change: 'changed', object: 'trigger', table: 'tr', name: 'tr',
  },
  {
    what: 'trigger event changed',
    expected: 'CREATE TABLE t(a); CREATE TABLE log(x); CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES (1); END',
    actual: 'CREATE TABLE t(a); CREATE TABLE log(x); CREATE TRIGGER tr BEFORE INSERT ON t BEGIN INSERT INTO log VALUES (1); END',
    change: 'changed', object: 'trigger', table: 'tr', name: 'tr',
  },
  {
    what: 'trigger string literal case',
    expected: `CREATE TABLE t(a); CREATE TABLE log(x); CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('Added'); END`,
    actual: `CREATE TABLE t(a); CREATE TABLE log(x); CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('added'); END`,
    change: 'changed', object: 'trigger', table: 'tr', name: 'tr',
  },
  {
    what: 'trigger missing',
    expected: 'CREATE TABLE t(a); CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END',
    actual: 'CREATE TABLE t(a)',
    change: 'missing', object: 'trigger', table: 'tr', name: 'tr',
  },
  {
    what: 'view body changed',
    expected: 'CREATE TABLE t(a, b); CREATE VIEW v AS SELECT a FROM t WHERE b > 0',
    actual: 'CREATE TABLE t(a, b); CREATE VIEW v AS SELECT a FROM t WHERE b >= 0',
    change: 'changed', object: 'view', table: 'v', name: 'v',
  },
  {
    what: 'view extra',
    expected: 'CREATE TABLE t(a, b)',
    actual: 'CREATE TABLE t(a, b); CREATE VIEW v AS SELECT a FROM t',
    change: 'extra', object: 'view', table: 'v', name: 'v',
  },
];

describe('each dimension is detected', () => {
  it.each(cases)('$what', (c) => {
    const changes = diffSql(c.expected, c.actual);
    const want: Record<string, unknown> = { change: c.change, object: c.object, table: c.table };
    if (c.name !== undefined) want.name = c.name;
    expect(changes).toContainEqual(expect.objectContaining(want));

    // The other way round, missing and extra swap; `changed` stays `changed`.
    const flipped = c.change === 'missing' ? 'extra' : c.change === 'extra' ? 'missing' : 'changed';
    expect(diffSql(c.actual, c.expected)).toContainEqual(
      expect.objectContaining({ ...want, change: flipped, table: c.flippedTable ?? c.table }),
    );

    // Each side equals itself: the difference is the one written into the case, not noise.
    expect(diffSql(c.expected, c.expected)).toEqual([]);
    expect(diffSql(c.actual, c.actual)).toEqual([]);

    // A readable line exists for every change.
    for (const ch of changes) expect(describeChange(ch)).toMatch(/^(missing|unexpected|changed) /);
  });

  it('a changed column reports both definitions, and nothing else about the table', () => {
    const changes = diffSql('CREATE TABLE t(a, b TEXT NOT NULL DEFAULT 0)', 'CREATE TABLE t(a, b TEXT)');
    expect(changes).toEqual([
      { change: 'changed', object: 'column', table: 't', name: 'b', expected: 'TEXT NOT NULL DEFAULT 0', actual: 'TEXT' },
    ]);
  });

  it('a changed foreign key is reported as the expected one missing and the found one extra', () => {
    const changes = diffSql(
      'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(a REFERENCES p(id) ON DELETE CASCADE)',
      'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(a REFERENCES p(id) ON UPDATE SET NULL)',
    );
    expect(changes).toEqual([
      { change: 'missing', object: 'foreign-key', table: 'c', expected: '(a) REFERENCES p(id) ON DELETE CASCADE' },
      { change: 'extra', object: 'foreign-key', table: 'c', actual: '(a) REFERENCES p(id) ON UPDATE SET NULL' },
    ]);
  });

  it('generated columns are reported with kind and expression', () => {
    const [ch] = diffSql('CREATE TABLE t(a INT, b INT AS (a * 2) STORED)', 'CREATE TABLE t(a INT, b INT AS (a + 2))');
    expect(ch).toMatchObject({ expected: 'INT AS (a * 2) STORED', actual: 'INT AS (a + 2) VIRTUAL' });
  });

  // Product bug: a bare word after DEFAULT is a string literal to SQLite (DEFAULT abc stores 'abc',
  // DEFAULT ABC stores 'ABC'), but canonicalExpr case-folds it as an identifier, so the two
  // different defaults compare equal. Actual: diff() == [].
  it('DEFAULT abc and DEFAULT ABC (different strings to SQLite) are told apart', () => {
    const db = new Database(':memory:');
    try {
      db.exec('CREATE TABLE t(id, a DEFAULT abc, b DEFAULT ABC); INSERT INTO t(id) VALUES (1)');
      expect(db.prepare('SELECT a, b FROM t').get()).toEqual({ a: 'abc', b: 'ABC' });
    } finally {
      db.close();
    }
    expect(diffSql('CREATE TABLE t(id, a DEFAULT abc)', 'CREATE TABLE t(id, a DEFAULT ABC)')).toContainEqual(
      expect.objectContaining({ change: 'changed', object: 'column', name: 'a' }),
    );
  });

  // Product bug: SQLite folds only ASCII letters when comparing names, so "É" and "é" are two
  // different columns (both may exist in one table). diffTable keys columns by
  // String.prototype.toLowerCase(), which folds É to é, so the difference is missed. Actual: [].
  it('columns whose names differ only in non-ASCII case are different columns', () => {
    const db = new Database(':memory:');
    try {
      db.exec('CREATE TABLE both_cols("É" TEXT, "é" TEXT)'); // SQLite: two distinct columns
    } finally {
      db.close();
    }
    const changes = diffSql('CREATE TABLE t(id, "É" TEXT)', 'CREATE TABLE t(id, "é" TEXT)');
    expect(changes).toContainEqual(expect.objectContaining({ change: 'missing', object: 'column', table: 't', name: 'É' }));
  });

  // Product bug: inspect() treats every table whose name starts with `<virtual table>_` as a shadow
  // table and leaves it out. A user table `docs_tags` beside `CREATE VIRTUAL TABLE docs USING fts5`
  // disappears from the snapshot, so a missing docs_tags is not reported. Actual: diff() == [].
  // (pragma_table_list reports real shadow tables with type = 'shadow'.)
  it('a user table named like a virtual table\'s shadow tables is still compared', () => {
    const changes = diffSql(
      'CREATE VIRTUAL TABLE docs USING fts5(body); CREATE TABLE docs_tags(id INTEGER PRIMARY KEY, tag TEXT)',
      'CREATE VIRTUAL TABLE docs USING fts5(body)',
    );
    expect(changes).toContainEqual(expect.objectContaining({ change: 'missing', object: 'table', table: 'docs_tags' }));
  });

  it('the real shadow tables of an FTS5 table are not reported', () => {
    expect(diffSql('CREATE VIRTUAL TABLE docs USING fts5(body)', 'CREATE VIRTUAL TABLE docs USING fts5(body)')).toEqual([]);
    expect(Object.keys(snap('CREATE VIRTUAL TABLE docs USING fts5(body)').tables)).toEqual(['docs']);
  });

  it('a virtual table whose module is not loaded is compared by its module and arguments, never asked about', () => {
    const db = new Database(':memory:');
    try {
      db.unsafeMode(true);
      db.exec(`CREATE TABLE t(a); PRAGMA writable_schema = ON;
        INSERT INTO sqlite_schema VALUES ('table', 'v', 'v', 0, 'CREATE VIRTUAL TABLE v USING nosuchmod(a, b)');
        PRAGMA writable_schema = RESET;`);
      const s = inspect(db);
      expect(s.tables.v).toMatchObject({ virtual: 'nosuchmod(a , b)', columns: [] });
      expect(s.tables.t!.columns.map((c) => c.name)).toEqual(['a']);
    } finally {
      db.close();
    }
  });

  it('virtual tables with different module arguments are told apart', () => {
    expect(diffSql('CREATE VIRTUAL TABLE docs USING fts5(body)', 'CREATE VIRTUAL TABLE docs USING fts5(body, title)')).toContainEqual(
      expect.objectContaining({ change: 'changed', object: 'table-option', table: 'docs', name: 'virtual' }),
    );
  });
});

describe('describeChange', () => {
  function lines(expected: string, actual: string): string[] {
    return diffSql(expected, actual).map(describeChange);
  }

  it('names the table and the column of a changed column, with both definitions', () => {
    expect(lines('CREATE TABLE db_agents(id, slug TEXT NOT NULL DEFAULT \'\')', 'CREATE TABLE db_agents(id, slug TEXT)')).toEqual([
      "changed column db_agents.slug: expected TEXT NOT NULL DEFAULT '', found TEXT",
    ]);
  });

  it('names the table and the column of a missing or unexpected column', () => {
    expect(lines('CREATE TABLE t(id, slug TEXT NOT NULL)', 'CREATE TABLE t(id)')).toEqual(['missing column t.slug: TEXT NOT NULL']);
    expect(lines('CREATE TABLE t(id)', 'CREATE TABLE t(id, extra INTEGER)')).toEqual(['unexpected column t.extra: INTEGER']);
  });

  it('names the index and its table', () => {
    expect(lines('CREATE TABLE t(a, b); CREATE UNIQUE INDEX t_ab ON t(a, b DESC) WHERE a > 0', 'CREATE TABLE t(a, b)')).toEqual([
      'missing index t_ab on t: UNIQUE ON t(a, b DESC) WHERE a > 0',
    ]);
    const [changed] = lines('CREATE TABLE t(a); CREATE INDEX ix ON t(a)', 'CREATE TABLE t(a); CREATE UNIQUE INDEX ix ON t(a)');
    expect(changed).toBe('changed index ix on t: expected ON t(a), found UNIQUE ON t(a)');
  });

  it('names a missing table', () => {
    expect(lines('CREATE TABLE a(x); CREATE TABLE b(x, y)', 'CREATE TABLE a(x)')).toEqual(['missing table b: 2 columns']);
  });

  it('names the table of a foreign key, CHECK, UNIQUE and option', () => {
    expect(
      lines(
        'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(pid REFERENCES p(id) ON DELETE CASCADE)',
        'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(pid)',
      ),
    ).toEqual(['missing foreign-key of table c: (pid) REFERENCES p(id) ON DELETE CASCADE']);
    expect(lines('CREATE TABLE t(a CHECK (a > 0))', 'CREATE TABLE t(a)')).toEqual(['missing check of table t: a > 0']);
    expect(lines('CREATE TABLE t(a, b)', 'CREATE TABLE t(a, b, UNIQUE (a, b))')).toEqual(['unexpected unique of table t: UNIQUE (a, b)']);
    expect(lines('CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT)', 'CREATE TABLE t(id INTEGER PRIMARY KEY)')).toEqual([
      'changed primary key of table t: expected PRIMARY KEY (id) AUTOINCREMENT (the rowid), found PRIMARY KEY (id) (the rowid)',
    ]);
    expect(lines('CREATE TABLE t(a, b)', 'CREATE TABLE t(b, a)')).toEqual(['changed column order of table t: expected a, b, found b, a']);
  });

  it('names a trigger and a view', () => {
    const [trig] = lines(
      'CREATE TABLE t(a); CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END',
      'CREATE TABLE t(a); CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 2; END',
    );
    expect(trig).toMatch(/^changed trigger tr: expected .*select 1.*, found .*select 2/);
    expect(lines('CREATE TABLE t(a); CREATE VIEW v AS SELECT a FROM t', 'CREATE TABLE t(a)')).toEqual([
      'missing view v: AS select a from t',
    ]);
  });
});

describe('snapshots shared by files with the same sqlite_schema rows', () => {
  const open = (sql: string) => {
    const db = new Database(':memory:');
    db.exec(sql);
    return db;
  };
  it('inspectCached gives what inspect gives, frozen, and a different listing its own snapshot', () => {
    const a = open('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL); CREATE INDEX t_name ON t(name);');
    const b = open('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL); CREATE INDEX t_name ON t(name);');
    const c = open('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); CREATE INDEX t_name ON t(name);');
    try {
      const sa = inspectCached(a, readMaster(a));
      expect(sa).toEqual(inspect(a));
      expect(Object.isFrozen(sa) && Object.isFrozen(sa.tables.t!)).toBe(true);
      expect(inspectCached(b, readMaster(b))).toBe(sa); // same rows: the same snapshot, not introspected again
      const sc = inspectCached(c, readMaster(c));
      expect(sc).not.toBe(sa);
      expect(diff(sa, sc).map(describeChange)).toEqual([expect.stringMatching(/name/)]);
    } finally {
      for (const d of [a, b, c]) d.close();
    }
  });

  it('a giant listing is introspected every time, never kept', () => {
    const db = open(`CREATE TABLE t (x TEXT DEFAULT '${'x'.repeat(300_000)}')`);
    try {
      const first = inspectCached(db, readMaster(db));
      const second = inspectCached(db, readMaster(db));
      expect(second).toEqual(first);
      expect(second).not.toBe(first);
    } finally {
      db.close();
    }
  });
});

describe('keys follow a legacy column rename', () => {
  // The primary key and UNIQUE constraints name their columns; a legacy rename must rename them
  // too, or a file SQLite would adopt cleanly is called drift.
  it('a legacy file whose PRIMARY KEY and UNIQUE columns are renamed is legacy, not drift', () => {
    const v1 = 'CREATE TABLE owner (key TEXT PRIMARY KEY, display_name TEXT NOT NULL UNIQUE);';
    const legacy = `CREATE TABLE owner (id TEXT PRIMARY KEY, nick TEXT NOT NULL UNIQUE); INSERT INTO owner VALUES ('a', 'b');`;
    const [store] = createRegistry([
      {
        name: 'pets',
        file: 'pets.db',
        version: 1,
        schema: v1,
        legacy: { renameColumns: [{ table: 'owner', from: 'id', to: 'key' }, { table: 'owner', from: 'nick', to: 'display_name' }] },
      },
    ]).stores;
    const dir = tmpDir();
    writeSql(path.join(dir, 'pets.db'), legacy);
    const c = reconcileStore(store!, dir, { mode: 'check' });
    expect(c.status, c.message).toBe('legacy');
  });
});
