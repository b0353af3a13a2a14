/**
 * The schema model, proven by mutation: one schema that uses every construct SQLite keeps, and
 * for each attribute a list of spellings. A spelling with another meaning must be reported by
 * `diff` as exactly that change (and make `check` say `drift` on a real file); a spelling with
 * the same meaning (quoting, keyword case, white space, comments, what `ALTER TABLE … RENAME`
 * wrote) must compare equal. The hand-written mutations run first; fast-check then draws random
 * combinations of attribute values, random respellings and random renames.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkFleet } from '../src/api.js';
import { createRegistry } from '../src/api.js';
import { diff } from '../src/schema/diff.js';
import { inspect } from '../src/schema/inspect.js';
import type { Change } from '../src/schema/model.js';
import { tokenize } from '../src/sql/tokens.js';
import { snap, tmpDir } from './helpers.js';

/** What a difference is about: the object kind, its table and (where it has one) its name. */
type Target = `${Change['object']}:${string}`;

interface Slot {
  /** The object a change of this attribute must be reported on. */
  readonly target: Target;
  /** Spellings: [text, meaning]. Spellings with the same meaning must compare equal. The first is the base. */
  readonly values: readonly (readonly [string, string])[];
}

/** Every attribute of the schema below that can be written another way. */
const SLOTS = {
  codeCollate: { target: 'column:parent.code', values: [[' COLLATE NOCASE', 'nocase'], ['', 'binary'], [' COLLATE BINARY', 'binary'], [' COLLATE RTRIM', 'rtrim'], [' collate "NoCase"', 'nocase']] },
  rankConflict: {
    target: 'column:parent.rank',
    values: [[' ON CONFLICT REPLACE', 'replace'], ['', 'abort'], [' ON CONFLICT ABORT', 'abort'], [' ON CONFLICT IGNORE', 'ignore'], [' ON CONFLICT FAIL', 'fail'], [' ON CONFLICT ROLLBACK', 'rollback']],
  },
  titleDefault: { target: 'column:parent.title', values: [[" DEFAULT 'untitled'", 'u'], [" DEFAULT ('untitled')", 'u'], [' DEFAULT untitled', 'u'], ['', 'none'], [" DEFAULT 'Untitled'", 'U']] },
  titleCheck: { target: 'check:parent', values: [[' CHECK (length(title) < 200)', 'lt'], [' CHECK ((LENGTH("title")<200))', 'lt'], ['', 'none'], [' CHECK (length(title) <= 200)', 'le']] },
  autoinc: { target: 'primary-key:parent.primary key', values: [[' AUTOINCREMENT', 'yes'], ['', 'no']] },
  codeUnique: {
    target: 'unique:parent',
    values: [
      ['UNIQUE (code COLLATE BINARY) ON CONFLICT REPLACE', 'binary replace'],
      ['UNIQUE ([code] collate binary) on conflict replace', 'binary replace'],
      ['UNIQUE (code COLLATE BINARY)', 'binary abort'],
      ['UNIQUE (code COLLATE BINARY) ON CONFLICT ABORT', 'binary abort'],
      ['UNIQUE (code COLLATE RTRIM) ON CONFLICT REPLACE', 'rtrim replace'],
      ['UNIQUE (code COLLATE BINARY) ON CONFLICT IGNORE', 'binary ignore'],
    ],
  },
  fkMatch: { target: 'foreign-key:item', values: [['', 'x'], [' MATCH FULL', 'x'], [' MATCH SIMPLE', 'x']] }, // parsed, never enforced by SQLite
  fkDelete: { target: 'foreign-key:item', values: [[' ON DELETE CASCADE', 'cascade'], [' on delete cascade', 'cascade'], ['', 'none'], [' ON DELETE NO ACTION', 'none'], [' ON DELETE SET NULL', 'set null'], [' ON DELETE RESTRICT', 'restrict']] },
  fkUpdate: { target: 'foreign-key:item', values: [[' ON UPDATE RESTRICT', 'restrict'], ['', 'none'], [' ON UPDATE SET DEFAULT', 'set default']] },
  fkDefer: {
    target: 'foreign-key:item',
    values: [
      [' DEFERRABLE INITIALLY DEFERRED', 'deferred'],
      ['', 'immediate'],
      [' DEFERRABLE', 'immediate'],
      [' DEFERRABLE INITIALLY IMMEDIATE', 'immediate'],
      [' NOT DEFERRABLE INITIALLY DEFERRED', 'immediate'],
      [' NOT DEFERRABLE', 'immediate'],
    ],
  },
  fkTarget: { target: 'foreign-key:item', values: [['parent(id)', 'parent id'], ['parent', 'parent id'], ['"parent" ( "id" )', 'parent id'], ['tag(id)', 'tag id']] },
  qtyDefault: { target: 'column:item.qty', values: [[' DEFAULT 1', '1'], [' DEFAULT (1)', '1'], ['', 'none'], [' DEFAULT 2', '2']] },
  qtyCheck: { target: 'check:item', values: [[' CHECK (qty > 0)', 'gt'], [' CHECK ((qty>0))', 'gt'], [' CHECK (qty >= 0)', 'ge'], ['', 'none']] },
  priceType: { target: 'column:item.price', values: [['INTEGER', 'integer'], ['integer', 'integer'], ['INT', 'int'], ['REAL', 'real'], ['', 'none']] },
  totalGen: {
    target: 'column:item.total',
    values: [
      ['AS (qty * price) STORED', 'stored *'],
      ['GENERATED ALWAYS AS ((qty*price)) STORED', 'stored *'],
      ['AS (qty * price) VIRTUAL', 'virtual *'],
      ['AS (qty * price)', 'virtual *'],
      ['AS (qty + price) STORED', 'stored +'],
    ],
  },
  labelGen: { target: 'column:item.label', values: [[' AS (upper(slot)) VIRTUAL', 'upper'], [' GENERATED ALWAYS AS (UPPER("slot"))', 'upper'], ['', 'plain'], [' AS (lower(slot))', 'lower']] },
  noteNotNull: { target: 'column:item.note', values: [['', 'null'], [' NULL', 'null'], [' NOT NULL', 'not null'], [' NOT NULL ON CONFLICT IGNORE', 'not null ignore']] },
  itemPk: {
    target: 'primary-key:item.primary key',
    values: [
      ['PRIMARY KEY (parent_id, slot DESC)', 'a'],
      ['PRIMARY KEY (parent_id ASC, slot COLLATE BINARY DESC)', 'a'],
      ['PRIMARY KEY (parent_id, slot)', 'asc'],
      ['PRIMARY KEY (slot DESC, parent_id)', 'order'],
      ['PRIMARY KEY (parent_id, slot COLLATE NOCASE DESC)', 'nocase'],
    ],
  },
  itemPkConflict: { target: 'primary-key:item.primary key', values: [[' ON CONFLICT FAIL', 'fail'], ['', 'abort'], [' ON CONFLICT ABORT', 'abort'], [' ON CONFLICT ROLLBACK', 'rollback']] },
  noteUnique: { target: 'unique:item', values: [['UNIQUE (note, price)', 'np'], ['UNIQUE ("note", [price])', 'np'], ['UNIQUE (price, note)', 'pn'], ['UNIQUE (note COLLATE NOCASE, price)', 'n-nocase p']] },
  itemRowid: { target: 'table-option:item.withoutRowid', values: [[' WITHOUT ROWID', 'without'], [' without rowid', 'without'], ['', 'rowid']] },
  markPk: {
    target: 'primary-key:mark.primary key',
    values: [
      ['id INTEGER PRIMARY KEY', 'rowid'],
      ['id INTEGER PRIMARY KEY ASC', 'rowid'],
      // Written on the table, DESC keeps the rowid alias; written on the column, it does not.
      ['id INTEGER, PRIMARY KEY (id DESC)', 'rowid'],
      ['id INTEGER PRIMARY KEY DESC', 'not rowid'],
      ['id INTEGER PRIMARY KEY ON CONFLICT IGNORE', 'rowid ignore'],
      ['id INTEGER, PRIMARY KEY (id) ON CONFLICT IGNORE', 'rowid ignore'],
    ],
  },
  markDefault: { target: 'column:mark.at', values: [[' DEFAULT CURRENT_TIMESTAMP', 'now'], [' DEFAULT (current_timestamp)', 'now'], [' DEFAULT CURRENT_DATE', 'today'], ['', 'none']] },
  tagStrict: { target: 'table-option:tag.strict', values: [[' STRICT', 'strict'], [' strict', 'strict'], ['', 'loose']] },
  tagFk: { target: 'foreign-key:tag', values: [[' ON DELETE SET NULL', 'set null'], [' ON DELETE CASCADE', 'cascade']] },
  ixUnique: { target: 'index:item.item_price', values: [['CREATE INDEX', 'plain'], ['create index', 'plain'], ['CREATE UNIQUE INDEX', 'unique']] },
  ixTerms: {
    target: 'index:item.item_price',
    values: [
      ['price DESC, note COLLATE NOCASE', 'a'],
      ['"price" desc, (note) collate nocase', 'a'],
      ['price ASC, note COLLATE NOCASE', 'asc'],
      ['price DESC, note', 'note rtrim'],
      ['price DESC, note COLLATE RTRIM', 'note rtrim'],
      ['note COLLATE NOCASE, price DESC', 'order'],
    ],
  },
  ixWhere: { target: 'index:item.item_price', values: [[' WHERE price IS NOT NULL', 'not null'], [' WHERE (price IS NOT NULL)', 'not null'], ['', 'none'], [' WHERE price > 0', 'positive']] },
  exprIx: {
    target: 'index:parent.parent_title',
    values: [
      ['lower(title)', 'lower'],
      ['LOWER( "title" )', 'lower'],
      ['upper(title)', 'upper'],
      ['lower(title) COLLATE NOCASE', 'lower nocase'],
      ['(lower(title)) collate NOCASE', 'lower nocase'],
      ['lower(title) DESC', 'lower desc'],
    ],
  },
  trgTiming: { target: 'trigger:item_qty.item_qty', values: [['AFTER ', 'after'], ['BEFORE ', 'before'], ['', 'before']] },
  trgEvent: { target: 'trigger:item_qty.item_qty', values: [['UPDATE OF qty, price', 'qp'], ['UPDATE OF price, qty', 'qp'], ['UPDATE OF qty', 'q'], ['UPDATE', 'any']] },
  trgRow: { target: 'trigger:item_qty.item_qty', values: [[' FOR EACH ROW', 'row'], ['', 'row']] },
  trgWhen: { target: 'trigger:item_qty.item_qty', values: [[' WHEN new.qty > old.qty', 'gt'], [' WHEN (NEW.qty>OLD.qty)', 'gt'], ['', 'none'], [' WHEN new.qty <> old.qty', 'ne'], [' WHEN new.qty != old.qty', 'ne']] },
  ioEvent: { target: 'trigger:tag_io.tag_io', values: [['DELETE', 'delete'], ['delete', 'delete'], ['INSERT', 'insert']] },
  trgBody: { target: 'trigger:item_qty.item_qty', values: [['rank + 1', '1'], ['"rank"+1', '1'], ['rank + 2', '2']] },
  viewCols: { target: 'view:item_totals.item_totals', values: [['(owner, sum_total)', 'a'], ['("owner", [sum_total])', 'a'], ['(owner, total_sum)', 'b'], ['', 'none']] },
  viewBody: { target: 'view:item_totals.item_totals', values: [['sum(total)', 'sum'], ['SUM( total )', 'sum'], ['max(total)', 'max']] },
  vtab: {
    target: 'table-option:doc.virtual',
    values: [
      ["fts5(body, caption, tokenize = 'porter')", 'porter'],
      ["FTS5(body,caption,tokenize='porter')", 'porter'],
      ['fts5(body, caption)', 'plain'],
      ["fts5(body, caption, tokenize = 'unicode61')", 'unicode61'],
    ],
  },
} satisfies Record<string, Slot>;

type SlotName = keyof typeof SLOTS;
type Choice = Record<SlotName, number>;
const NAMES = Object.keys(SLOTS) as SlotName[];
const BASE: Choice = Object.fromEntries(NAMES.map((n) => [n, 0])) as Choice;

/** The schema with each attribute spelled as chosen. */
function schema(c: Choice): string {
  const v = (n: SlotName) => SLOTS[n].values[c[n]]![0];
  return `
CREATE TABLE parent (
  id INTEGER PRIMARY KEY${v('autoinc')},
  code TEXT NOT NULL${v('codeCollate')},
  title TEXT${v('titleDefault')}${v('titleCheck')},
  rank REAL NOT NULL${v('rankConflict')} DEFAULT 0,
  ${v('codeUnique')}
);
CREATE TABLE item (
  parent_id INTEGER NOT NULL REFERENCES ${v('fkTarget')}${v('fkMatch')}${v('fkDelete')}${v('fkUpdate')}${v('fkDefer')},
  slot TEXT NOT NULL,
  qty INTEGER NOT NULL${v('qtyDefault')}${v('qtyCheck')},
  price ${v('priceType')},
  total INTEGER ${v('totalGen')},
  label TEXT${v('labelGen')},
  note TEXT${v('noteNotNull')} COLLATE RTRIM,
  ${v('itemPk')}${v('itemPkConflict')},
  ${v('noteUnique')}
)${v('itemRowid')};
CREATE TABLE tag (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  item_parent INTEGER,
  item_slot TEXT,
  FOREIGN KEY (item_parent, item_slot) REFERENCES item(parent_id, slot)${v('tagFk')}
)${v('tagStrict')};
CREATE TABLE mark (at TEXT${v('markDefault')}, ${v('markPk')});
${v('ixUnique')} item_price ON item(${v('ixTerms')})${v('ixWhere')};
CREATE UNIQUE INDEX parent_title ON parent(${v('exprIx')});
CREATE VIEW item_totals${v('viewCols')} AS SELECT parent_id, ${v('viewBody')} FROM item GROUP BY parent_id;
CREATE TRIGGER item_qty ${v('trgTiming')}${v('trgEvent')} ON item${v('trgRow')}${v('trgWhen')} BEGIN
  UPDATE parent SET rank = ${v('trgBody')} WHERE id = new.parent_id;
END;
CREATE VIEW tag_names AS SELECT name FROM tag;
CREATE TRIGGER tag_io INSTEAD OF ${v('ioEvent')} ON tag_names BEGIN
  DELETE FROM tag WHERE id < 0;
END;
CREATE VIRTUAL TABLE doc USING ${v('vtab')};
`;
}


/** The object a change is about, in the terms of {@link Slot.target}. */
function targetOf(c: Change): Target {
  const named = c.object === 'check' || c.object === 'unique' || c.object === 'foreign-key' || c.object === 'table' ? '' : `.${c.name}`;
  return `${c.object}:${c.table}${named}`;
}

/** The targets whose meaning differs between two choices. */
function differing(a: Choice, b: Choice): Set<Target> {
  const out = new Set<Target>();
  for (const n of NAMES) if (SLOTS[n].values[a[n]]![1] !== SLOTS[n].values[b[n]]![1]) out.add(SLOTS[n].target);
  return out;
}

// Renames that SQLite carries out rewrite every statement that names the object, with quotes.
const RENAMEABLE = [
  ['table', 'parent'],
  ['table', 'item'],
  ['table', 'tag'],
  ['column', 'item', 'qty'],
  ['column', 'item', 'slot'],
  ['column', 'item', 'price'],
  ['column', 'parent', 'code'],
  ['column', 'parent', 'rank'],
] as const;

/** The schema written with old names, then ALTER TABLE statements that rename them back. */
function renameScript(sql: string, which: readonly (typeof RENAMEABLE)[number][]): string {
  const old = (n: string) => `${n}_was`;
  const names = new Set(which.map((w) => (w[0] === 'table' ? w[1] : w[2])));
  let text = '';
  let at = 0;
  for (const t of tokenize(sql)) {
    if ((t.kind === 'word' || t.kind === 'ident') && names.has(t.value)) {
      text += sql.slice(at, t.start) + `"${old(t.value)}"`;
      at = t.end;
    }
  }
  text += sql.slice(at);
  for (const w of which) if (w[0] === 'column') text += `\nALTER TABLE ${names.has(w[1]) ? old(w[1]) : w[1]} RENAME COLUMN ${old(w[2])} TO ${w[2]};`;
  for (const w of which) if (w[0] === 'table') text += `\nALTER TABLE ${old(w[1])} RENAME TO ${w[1]};`;
  return text;
}

const baseSnap = snap(schema(BASE));

describe('the schema uses every construct', () => {
  it('holds what the mutations are about (so none of them tests nothing)', () => {
    const t = baseSnap.tables;
    expect(t.item).toMatchObject({ withoutRowid: true, primaryKey: { conflict: 'FAIL', columns: [{ name: 'parent_id' }, { name: 'slot', desc: true }] } });
    expect(t.item!.foreignKeys[0]).toMatchObject({ table: 'parent', onDelete: 'CASCADE', onUpdate: 'RESTRICT', deferred: true });
    expect(t.parent!.uniques).toEqual([{ columns: [{ name: 'code', collate: null, desc: false }], conflict: 'REPLACE' }]);
    expect(t.parent!.primaryKey).toMatchObject({ autoincrement: true, rowid: true });
    expect(t.parent!.columns.find((c) => c.name === 'rank')).toMatchObject({ notNull: true, notNullConflict: 'REPLACE' });
    expect(t.item!.columns.find((c) => c.name === 'total')!.generated).toEqual({ stored: true, expr: 'qty * price' });
    expect(t.tag).toMatchObject({ strict: true, primaryKey: { rowid: true } });
    expect(t.doc!.virtual).toContain('porter');
    expect(Object.keys(t).sort()).toEqual(['doc', 'item', 'mark', 'parent', 'tag']); // fts5's shadow tables belong to doc
    expect(baseSnap.indexes.item_price).toMatchObject({ unique: false, terms: ['price DESC', 'note COLLATE NOCASE'], where: 'price is not null' });
    expect(baseSnap.indexes.parent_title!.terms).toEqual(['lower ( title )']);
    expect(baseSnap.triggers.item_qty).toMatchObject({ timing: 'AFTER', event: 'UPDATE', columns: ['price', 'qty'], when: 'new . qty > old . qty' });
    expect(baseSnap.views.item_totals!.columns).toEqual(['owner', 'sum_total']);
    expect(baseSnap.triggers.tag_io).toMatchObject({ timing: 'INSTEAD OF', event: 'DELETE', table: 'tag_names' });
  });
});

/** Hand-written single-attribute mutations of the base schema: [what, from, to, the object it must be reported on]. */
const HAND: readonly (readonly [string, string, string, Target, ...Target[]])[] = [
  ...NAMES.flatMap((n) =>
    SLOTS[n].values
      .map((v, i) => [v, i] as const)
      .filter(([v]) => v[1] !== SLOTS[n].values[0]![1])
      .map(([v, i]) => [`${n}: ${v[0].trim() || '(none)'}`, `${n}#${i}`, '', SLOTS[n].target] as const),
  ),
  ['column added in the middle', 'slot TEXT NOT NULL,', 'slot TEXT NOT NULL, extra TEXT,', 'column:item.extra'],
  ['column type of a key column', 'item_slot TEXT,', 'item_slot BLOB,', 'column:tag.item_slot'],
  // No rowid alias: in a STRICT table the key column is then NOT NULL, as SQLite reports.
  ['rowid alias lost in a STRICT table', 'id INTEGER PRIMARY KEY,\n  name', 'id INTEGER PRIMARY KEY DESC,\n  name', 'primary-key:tag.primary key', 'column:tag.id'],
  ['column order', 'name TEXT NOT NULL,\n  item_parent INTEGER,', 'item_parent INTEGER,\n  name TEXT NOT NULL,', 'table-option:tag.column order'],
  ['table missing', 'CREATE TABLE tag (', 'CREATE TABLE gat (', 'table:tag'],
  ['index missing', 'CREATE UNIQUE INDEX parent_title ON parent(lower(title));', '', 'index:parent.parent_title'],
  ['trigger event', 'UPDATE OF qty, price ON item', 'INSERT ON item', 'trigger:item_qty.item_qty'],
  ['view missing', 'CREATE VIEW item_totals(owner, sum_total) AS SELECT parent_id, sum(total) FROM item GROUP BY parent_id;', '', 'view:item_totals.item_totals'],
];

/** The SQL of one hand mutation: a slot's other spelling, or a text replaced once. */
function mutated(from: string, to: string): string {
  const slot = /^(\w+)#(\d+)$/.exec(from);
  if (slot) return schema({ ...BASE, [slot[1]!]: Number(slot[2]) });
  const base = schema(BASE);
  expect(base.split(from).length, `"${from}" occurs once in the schema`).toBe(2);
  return base.replace(from, to);
}

describe('each single-attribute mutation is exactly that change', () => {
  it.each(HAND.map(([what, from, to, ...targets]) => ({ what, from, to, targets })))('$what', ({ from, to, targets }) => {
    const changes = diff(baseSnap, snap(mutated(from, to)));
    expect(changes.length, 'the mutation is reported').toBeGreaterThan(0);
    const slot = /^(\w+)#(\d+)$/.exec(from);
    // `table missing` also reports the renamed table as extra: both are about tables.
    const expected = slot ? differing(BASE, { ...BASE, [slot[1]!]: Number(slot[2]) }) : new Set(targets[0].startsWith('table:') ? [...targets, 'table:gat'] : targets);
    expect(new Set(changes.map(targetOf))).toEqual(expected);
    // And the other way round.
    expect(diff(snap(mutated(from, to)), baseSnap).length).toBeGreaterThan(0);
  });

  it('makes `check` say drift on a real file at the version, while the schema itself, respelled or renamed by SQLite, is current', async () => {
    const reg = createRegistry([{ name: 'm', file: 'm.db', version: 1, schema: schema(BASE) }]);
    const root = tmpDir('stores-mutation-');
    const dirs: string[] = [];
    const write = (name: string, sql: string) => {
      const dir = path.join(root, name);
      fs.mkdirSync(dir);
      const db = new Database(path.join(dir, 'm.db'));
      try {
        db.pragma('synchronous = OFF'); // a hundred fixtures: one transaction each, no fsync
        db.exec(`BEGIN; ${sql}; PRAGMA user_version = 1; COMMIT;`);
      } finally {
        db.close();
      }
      dirs.push(dir);
    };
    write('base', schema(BASE));
    write('respelled', respell(schema(BASE), 7));
    write('renamed', renameScript(schema(BASE), RENAMEABLE));
    HAND.forEach(([, from, to], i) => write(`m${String(i).padStart(3, '0')}`, mutated(from, to)));
    const report = await checkFleet(reg, [], { dirs, concurrency: 1 });
    const status = new Map(report.dirs.map((d) => [path.basename(d.path), d.stores[0]!.status]));
    expect(status.get('base')).toBe('current');
    expect(status.get('respelled')).toBe('current');
    expect(status.get('renamed')).toBe('current');
    const notDrift = HAND.filter((_, i) => status.get(`m${String(i).padStart(3, '0')}`) !== 'drift').map(([what]) => what);
    expect(notDrift).toEqual([]);
  });
});

/** Names of the schema's objects and columns: these may be quoted; every other word is a keyword or a function. */
const IDENTIFIERS = new Set([
  'parent', 'item', 'tag', 'doc', 'item_price', 'parent_title', 'item_totals', 'item_qty', 'tag_io', 'tag_names',
  'mark', 'at', 'id', 'code', 'title', 'rank', 'parent_id', 'slot', 'qty', 'price', 'total', 'label', 'note', 'name', 'item_parent', 'item_slot', 'owner', 'sum_total', 'total_sum', 'extra',
]);
const SEPARATORS = [' ', '  ', '\n', '\n\t ', ' /* a comment; with ( and ) */ ', ' -- a comment\n'];

/** A small deterministic generator, so that one seed gives one respelling. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/**
 * The same SQL, spelled otherwise: identifiers quoted "x", `x`, [x] or not; keywords and names in
 * random case; random white space and comments between tokens. A bare word after DEFAULT is a
 * string to SQLite, and a virtual table's arguments are its module's: both are left as written.
 */
function respell(sql: string, seed: number): string {
  const r = rng(seed);
  const pick = <T,>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const cased = (w: string) => [...w].map((ch) => (r() < 0.5 ? ch.toUpperCase() : ch.toLowerCase())).join('');
  const toks = tokenize(sql);
  let out = '';
  let verbatim = false;
  toks.forEach((t, i) => {
    const raw = sql.slice(t.start, t.end);
    if (t.value === ';') verbatim = false;
    const keepAsIs = verbatim || (i > 0 && /^default$/i.test(toks[i - 1]!.value) && t.kind === 'word');
    let text = raw;
    if (!keepAsIs && t.kind === 'word') {
      const w = cased(t.value);
      text = IDENTIFIERS.has(t.value.toLowerCase()) ? pick([w, `"${w}"`, `\`${w}\``, `[${w}]`]) : w;
    }
    if (/^using$/i.test(t.value)) verbatim = true;
    out += (i === 0 ? '' : verbatim && !/^using$/i.test(t.value) ? ' ' : pick(SEPARATORS)) + text;
  });
  return out;
}

describe('spellings with the same meaning compare equal', () => {
  // The meanings given to the spellings above are SQLite's, asked by execution.
  it('a spelling of deferrability means deferred exactly when SQLite defers the check to COMMIT', () => {
    for (const [text, meaning] of SLOTS.fkDefer.values) {
      const db = new Database(':memory:');
      try {
        db.exec(`PRAGMA foreign_keys = ON; CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(x REFERENCES p(id)${text}); BEGIN;`);
        let deferred = true;
        try {
          db.exec('INSERT INTO c VALUES (1)');
        } catch {
          deferred = false;
        }
        expect(deferred, text).toBe(meaning === 'deferred');
        expect(inspect(db).tables.c!.foreignKeys[0]!.deferred, text).toBe(deferred);
      } finally {
        db.close();
      }
    }
  });

  it('ON CONFLICT ABORT is what SQLite does when no clause is written; REPLACE deletes the other row', () => {
    const outcome = (clause: string) => {
      const db = new Database(':memory:');
      try {
        db.exec(`CREATE TABLE t(id INTEGER PRIMARY KEY, u TEXT, UNIQUE (u)${clause}); INSERT INTO t VALUES (1, 'a');`);
        db.exec('BEGIN');
        db.exec(`INSERT INTO t VALUES (2, 'b')`);
        try {
          db.exec(`INSERT INTO t VALUES (3, 'a')`);
        } catch (e) {
          return `${(e as Error).message}, in transaction: ${db.inTransaction}, rows ${db.prepare('SELECT group_concat(id) FROM t').pluck().get()}`;
        }
        return `rows ${db.prepare('SELECT group_concat(id) FROM t').pluck().get()}`;
      } finally {
        db.close();
      }
    };
    expect(outcome(' ON CONFLICT ABORT')).toBe(outcome(''));
    expect(outcome(' ON CONFLICT REPLACE')).not.toBe(outcome(''));
  });

  it('a respelled schema is really spelled otherwise, and equals the base', () => {
    const sql = respell(schema(BASE), 42);
    expect(sql).not.toBe(schema(BASE));
    expect(sql).toMatch(/\/\*|--/);
    expect(sql).toMatch(/["`[]/);
    expect(diff(baseSnap, snap(sql))).toEqual([]);
  });

  it('fast-check: random respellings of random schemas compare equal to the schema', () => {
    const choice = fc.record(Object.fromEntries(NAMES.map((n) => [n, fc.nat({ max: SLOTS[n].values.length - 1 })])) as Record<SlotName, fc.Arbitrary<number>>);
    fc.assert(
      fc.property(choice, fc.integer({ min: 1, max: 2 ** 31 }), (c, seed) => {
        const sql = schema(c);
        expect(diff(snap(sql), snap(respell(sql, seed)))).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it('every table and column renamed by ALTER TABLE equals the schema written fresh', () => {
    let rewritten = '';
    const snapshot = snap(renameScript(schema(BASE), RENAMEABLE), (db) => {
      rewritten = db.prepare(`SELECT group_concat(sql, ';\n') FROM sqlite_schema`).pluck().get() as string;
    });
    expect(rewritten).toContain('REFERENCES "parent"');
    expect(rewritten).toContain('UPDATE "parent"');
    expect(rewritten).not.toContain('_was');
    expect(diff(baseSnap, snapshot)).toEqual([]);
    expect(diff(snapshot, baseSnap)).toEqual([]);
  });

  it('fast-check: random renames of random schemas equal the schema written fresh', () => {
    const choice = fc.record(Object.fromEntries(NAMES.map((n) => [n, fc.nat({ max: SLOTS[n].values.length - 1 })])) as Record<SlotName, fc.Arbitrary<number>>);
    fc.assert(
      fc.property(choice, fc.subarray([...RENAMEABLE], { minLength: 1 }), (c, which) => {
        const sql = schema(c);
        expect(diff(snap(sql), snap(renameScript(sql, which)))).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });
});

describe('fast-check: random mutations on top of the hand-written list', () => {
  it('two random schemas differ exactly in the objects whose attributes mean something else', () => {
    const choice = fc.record(Object.fromEntries(NAMES.map((n) => [n, fc.nat({ max: SLOTS[n].values.length - 1 })])) as Record<SlotName, fc.Arbitrary<number>>);
    fc.assert(
      fc.property(choice, choice, (a, b) => {
        const changes = diff(snap(schema(a)), snap(schema(b)));
        expect(new Set(changes.map(targetOf))).toEqual(differing(a, b));
      }),
      { numRuns: 150 },
    );
  });

  it('one random attribute given a random other value is reported on that object alone', () => {
    const one = fc.constantFrom(...NAMES).chain((n) => fc.tuple(fc.constant(n), fc.nat({ max: SLOTS[n].values.length - 1 })));
    fc.assert(
      fc.property(one, ([n, i]) => {
        const c = { ...BASE, [n]: i };
        const changes = diff(baseSnap, snap(schema(c)));
        expect(new Set(changes.map(targetOf))).toEqual(differing(BASE, c));
      }),
      { numRuns: 100 },
    );
  });
});
