/**
 * Compares two snapshots by meaning and describes the differences for people.
 * `diff(expected, actual)` is empty exactly when the schemas mean the same thing.
 */
import { foldCase } from '../sql/tokens.js';
import type { Change, Column, ForeignKey, Index, KeyTerm, PrimaryKey, Snapshot, Table, Trigger, Unique, View } from './model.js';

/** Readable definition of a column, e.g. `TEXT NOT NULL DEFAULT ''`. */
export function describeColumn(c: Column): string {
  const parts = [c.type || '(no type)'];
  if (c.notNull) parts.push(c.notNullConflict ? `NOT NULL ON CONFLICT ${c.notNullConflict}` : 'NOT NULL');
  if (c.default !== null) parts.push(`DEFAULT ${c.default}`);
  if (c.collate) parts.push(`COLLATE ${c.collate}`);
  if (c.generated) parts.push(`AS (${c.generated.expr}) ${c.generated.stored ? 'STORED' : 'VIRTUAL'}`);
  if (c.hidden) parts.push('HIDDEN');
  return parts.join(' ');
}

/** Readable text of a key term: `name`, `b COLLATE NOCASE DESC`. */
export function describeKeyTerm(k: KeyTerm): string {
  return `${k.name}${k.collate ? ` COLLATE ${k.collate}` : ''}${k.desc ? ' DESC' : ''}`;
}

/** Readable text of a UNIQUE constraint: `UNIQUE (a COLLATE NOCASE) ON CONFLICT REPLACE`. */
export function describeUnique(u: Unique): string {
  return `UNIQUE (${u.columns.map(describeKeyTerm).join(', ')})${u.conflict ? ` ON CONFLICT ${u.conflict}` : ''}`;
}

/**
 * Readable primary key, e.g. `PRIMARY KEY (id) AUTOINCREMENT (the rowid)`. Whether the key is the
 * rowid is said, since it decides what inserting NULL into it does (SQLite reports it: such a
 * key has no index of its own).
 */
export function describePrimaryKey(pk: PrimaryKey | null): string {
  if (!pk) return 'none (rowid only)';
  const parts = [`PRIMARY KEY (${pk.columns.map(describeKeyTerm).join(', ')})`];
  if (pk.conflict) parts.push(`ON CONFLICT ${pk.conflict}`);
  if (pk.autoincrement) parts.push('AUTOINCREMENT');
  return parts.join(' ') + (pk.rowid ? ' (the rowid)' : '');
}

function describeFk(fk: ForeignKey): string {
  const parts = [`(${fk.from.join(', ')}) REFERENCES ${fk.table}(${fk.to.join(', ')})`];
  if (fk.onDelete !== 'NO ACTION') parts.push(`ON DELETE ${fk.onDelete}`);
  if (fk.onUpdate !== 'NO ACTION') parts.push(`ON UPDATE ${fk.onUpdate}`);
  if (fk.match !== 'NONE') parts.push(`MATCH ${fk.match}`);
  if (fk.deferred) parts.push('DEFERRABLE INITIALLY DEFERRED');
  return parts.join(' ');
}

function describeIndex(ix: Index): string {
  return `${ix.unique ? 'UNIQUE ' : ''}ON ${ix.table}(${ix.terms.join(', ')})${ix.where ? ` WHERE ${ix.where}` : ''}`;
}

/** Readable trigger: `AFTER UPDATE OF a ON t WHEN … BEGIN … END`. */
export function describeTrigger(t: Trigger): string {
  const of = t.columns.length > 0 ? ` OF ${t.columns.join(', ')}` : '';
  return `${t.timing} ${t.event}${of} ON ${t.table}${t.when !== null ? ` WHEN ${t.when}` : ''} BEGIN ${t.body} END`;
}

/** Readable view: `(a, b) AS select …`. */
export function describeView(v: View): string {
  return `${v.columns ? `(${v.columns.join(', ')}) ` : ''}AS ${v.body}`;
}

/** Differences between the schema a file must have (`expected`) and the one it has. */
export function diff(expected: Snapshot, actual: Snapshot): Change[] {
  const out: Change[] = [];
  for (const key of sortedKeys(expected.tables, actual.tables)) {
    const e = expected.tables[key];
    const a = actual.tables[key];
    if (e && !a) out.push({ change: 'missing', object: 'table', table: e.name, expected: `${e.columns.length} columns` });
    else if (!e && a) out.push({ change: 'extra', object: 'table', table: a.name, actual: `${a.columns.length} columns` });
    else if (e && a) diffTable(e, a, out);
  }
  for (const key of sortedKeys(expected.indexes, actual.indexes)) {
    const e = expected.indexes[key];
    const a = actual.indexes[key];
    if (e && !a) out.push({ change: 'missing', object: 'index', table: e.table, name: e.name, expected: describeIndex(e) });
    else if (!e && a) out.push({ change: 'extra', object: 'index', table: a.table, name: a.name, actual: describeIndex(a) });
    else if (e && a && describeIndex(e) !== describeIndex(a)) {
      out.push({ change: 'changed', object: 'index', table: e.table, name: e.name, expected: describeIndex(e), actual: describeIndex(a) });
    }
  }
  diffNamed(expected.triggers, actual.triggers, 'trigger', describeTrigger, out);
  diffNamed(expected.views, actual.views, 'view', describeView, out);
  return out;
}

function diffNamed<T extends { readonly name: string }>(
  exp: Readonly<Record<string, T>>,
  act: Readonly<Record<string, T>>,
  object: 'trigger' | 'view',
  describe: (x: T) => string,
  out: Change[],
): void {
  for (const key of sortedKeys(exp, act)) {
    const e = exp[key];
    const a = act[key];
    if (e && !a) out.push({ change: 'missing', object, table: e.name, name: e.name, expected: describe(e) });
    else if (!e && a) out.push({ change: 'extra', object, table: a.name, name: a.name, actual: describe(a) });
    else if (e && a && describe(e) !== describe(a)) out.push({ change: 'changed', object, table: e.name, name: e.name, expected: describe(e), actual: describe(a) });
  }
}

function diffTable(e: Table, a: Table, out: Change[]): void {
  const table = e.name;
  const aCols = new Map(a.columns.map((c) => [foldCase(c.name), c]));
  const eCols = new Map(e.columns.map((c) => [foldCase(c.name), c]));
  for (const c of e.columns) {
    const found = aCols.get(foldCase(c.name));
    if (!found) out.push({ change: 'missing', object: 'column', table, name: c.name, expected: describeColumn(c) });
    else if (describeColumn(found) !== describeColumn(c)) {
      out.push({ change: 'changed', object: 'column', table, name: c.name, expected: describeColumn(c), actual: describeColumn(found) });
    }
  }
  for (const c of a.columns) {
    if (!eCols.has(foldCase(c.name))) out.push({ change: 'extra', object: 'column', table, name: c.name, actual: describeColumn(c) });
  }
  const eOrder = e.columns.map((c) => foldCase(c.name)).filter((n) => aCols.has(n));
  const aOrder = a.columns.map((c) => foldCase(c.name)).filter((n) => eCols.has(n));
  if (eOrder.join(',') !== aOrder.join(',')) {
    out.push({ change: 'changed', object: 'table-option', table, name: 'column order', expected: eOrder.join(', '), actual: aOrder.join(', ') });
  }
  const ePk = describePrimaryKey(e.primaryKey);
  const aPk = describePrimaryKey(a.primaryKey);
  if (ePk !== aPk) {
    const change = !a.primaryKey ? 'missing' : !e.primaryKey ? 'extra' : 'changed';
    out.push({ change, object: 'primary-key', table, name: 'primary key', expected: ePk, actual: aPk });
  }
  diffLists(e.foreignKeys.map(describeFk), a.foreignKeys.map(describeFk), 'foreign-key', table, out);
  diffLists(e.checks, a.checks, 'check', table, out);
  diffLists(e.uniques.map(describeUnique), a.uniques.map(describeUnique), 'unique', table, out);
  for (const opt of ['withoutRowid', 'strict', 'virtual'] as const) {
    if (e[opt] !== a[opt]) {
      out.push({ change: 'changed', object: 'table-option', table, name: opt, expected: String(e[opt]), actual: String(a[opt]) });
    }
  }
}

function diffLists(e: readonly string[], a: readonly string[], object: Change['object'], table: string, out: Change[]): void {
  const remaining = [...a];
  for (const x of e) {
    const i = remaining.indexOf(x);
    if (i >= 0) remaining.splice(i, 1);
    else out.push({ change: 'missing', object, table, expected: x });
  }
  for (const x of remaining) out.push({ change: 'extra', object, table, actual: x });
}

function sortedKeys(a: object, b: object): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
}

/** One line per difference, for people: `missing column db_agents.slug: TEXT NOT NULL DEFAULT ''`. */
export function describeChange(c: Change): string {
  const what =
    c.object === 'column'
      ? `column ${c.table}.${c.name}`
      : c.object === 'table'
        ? `table ${c.table}`
        : c.object === 'index' || c.object === 'trigger' || c.object === 'view'
          ? `${c.object} ${c.name}${c.object === 'index' ? ` on ${c.table}` : ''}`
          : `${c.object === 'table-option' || c.object === 'primary-key' ? c.name : c.object} of table ${c.table}`;
  switch (c.change) {
    case 'missing':
      return `missing ${what}${c.expected ? `: ${c.expected}` : ''}`;
    case 'extra':
      return `unexpected ${what}${c.actual ? `: ${c.actual}` : ''}`;
    case 'changed':
      return `changed ${what}: expected ${c.expected}, found ${c.actual}`;
  }
}

/** A short summary of many differences (first few, then a count). */
export function summarizeChanges(changes: readonly Change[], max = 3): string {
  const lines = changes.slice(0, max).map(describeChange);
  if (changes.length > max) lines.push(`and ${changes.length - max} more (see \`stores diff\`)`);
  return lines.join('; ');
}
