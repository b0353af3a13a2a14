/**
 * Classification: facts about a file in, one status of the contract out, with its evidence and
 * a message for the operator. Pure: no I/O.
 */
import type { Status } from '../errors.js';
import type { RenameRule, Store } from '../types.js';
import { diff, summarizeChanges } from '../schema/diff.js';
import type { Change, MasterRow, Snapshot, Table } from '../schema/model.js';
import { foldCase } from '../sql/tokens.js';
import type { FileFacts } from './probe.js';

/** What adopting a legacy file takes, worked out on its snapshot. */
export interface Adoption {
  /** Renames that apply to this file, in order. */
  readonly renames: readonly RenameRule[];
  /** Column renames that apply to this file, in order (table as named after the table renames). */
  readonly columnRenames: readonly { readonly table: string; readonly from: string; readonly to: string }[];
  /** Tables rebuilt to their oldest-version definition to drop legacy columns. */
  readonly columnDrops: readonly { readonly table: string; readonly columns: readonly string[]; readonly create: string }[];
  /** Leftover indexes present in the file (after renames), to drop. */
  readonly dropIndexes: readonly string[];
  /** Dead tables present in the file, to drop. */
  readonly deadTables: readonly string[];
  /** Objects of the oldest version the file lacks, to create (creation order). */
  readonly creates: readonly MasterRow[];
  /** Pairs (old, new) that both exist: the file is a conflict. */
  readonly conflicts: readonly (readonly [string, string])[];
  /** Tables that are neither legacy nor of the oldest version. */
  readonly unknownTables: readonly string[];
  /** How the adopted file would still differ from the oldest version. */
  readonly remaining: readonly Change[];
}

export interface Classification {
  readonly status: Status;
  /** `user_version` found (null when unreadable). */
  readonly version: number | null;
  readonly target: number;
  /** For people: what was found, and what to do about it. */
  readonly message: string;
  /** Schema differences behind a `drift`. */
  readonly changes?: readonly Change[];
  /** The worked-out adoption of a `legacy` (or `conflict`) file. */
  readonly adoption?: Adoption;
}

function renameTable(t: Table, to: string): Table {
  return { ...t, name: to };
}

/** Works out, on plain data, what adopting a `user_version = 0` file would do and leave. */
export function planAdoption(snapshot: Snapshot, store: Store): Adoption {
  const tables: Record<string, Table> = { ...snapshot.tables };
  const indexes = { ...snapshot.indexes };
  const renames: RenameRule[] = [];
  const conflicts: [string, string][] = [];
  for (const r of store.legacy.renames) {
    const from = foldCase(r.from);
    const to = foldCase(r.to);
    if (!tables[from]) continue;
    if (tables[to]) {
      conflicts.push([tables[from]!.name, tables[to]!.name]);
      continue;
    }
    renames.push({ from: tables[from]!.name, to: r.to });
    tables[to] = renameTable(tables[from]!, r.to);
    delete tables[from];
    // SQLite rewrites references to the renamed table in the other tables and keeps its indexes.
    for (const [k, t] of Object.entries(tables)) {
      if (t.foreignKeys.some((fk) => fk.table === from)) {
        tables[k] = { ...t, foreignKeys: t.foreignKeys.map((fk) => (fk.table === from ? { ...fk, table: to } : fk)) };
      }
    }
    for (const [k, ix] of Object.entries(indexes)) if (ix.table === from) indexes[k] = { ...ix, table: to };
  }
  const columnRenames: { table: string; from: string; to: string }[] = [];
  for (const r of store.legacy.renameColumns) {
    const tk = foldCase(r.table);
    const t = tables[tk];
    const from = foldCase(r.from);
    const to = foldCase(r.to);
    if (!t || !t.columns.some((c) => foldCase(c.name) === from)) continue;
    if (t.columns.some((c) => foldCase(c.name) === to)) {
      conflicts.push([`${t.name}.${r.from}`, `${t.name}.${r.to}`]);
      continue;
    }
    columnRenames.push({ table: t.name, from: t.columns.find((c) => foldCase(c.name) === from)!.name, to: r.to });
    // SQLite rewrites the column's uses: the table's own keys, other tables' references, indexes.
    const ren = (c: string | null) => (c === from ? to : c);
    tables[tk] = { ...t, columns: t.columns.map((c) => (foldCase(c.name) === from ? { ...c, name: r.to } : c)), foreignKeys: t.foreignKeys.map((fk) => ({ ...fk, from: fk.from.map((c) => ren(c)!) })) };
    for (const [k, other] of Object.entries(tables)) {
      if (other.foreignKeys.some((fk) => fk.table === tk)) tables[k] = { ...other, foreignKeys: other.foreignKeys.map((fk) => (fk.table === tk ? { ...fk, to: fk.to.map(ren) } : fk)) };
    }
    for (const [k, ix] of Object.entries(indexes)) if (ix.table === tk) indexes[k] = { ...ix, terms: ix.terms.map((term) => term.split(' ').map((w) => (w === from ? to : w)).join(' ')) };
  }
  const dropIndexes: string[] = [];
  for (const name of store.legacy.dropIndexes) {
    const k = foldCase(name);
    if (indexes[k]) {
      dropIndexes.push(indexes[k]!.name);
      delete indexes[k];
    }
  }
  const columnDrops: { table: string; columns: string[]; create: string }[] = [];
  const oldestSnap = store.expect.snapshots.get(store.minVersion)!;
  const dropsByTable = new Map<string, string[]>();
  for (const d of store.legacy.dropColumns) dropsByTable.set(foldCase(d.table), [...(dropsByTable.get(foldCase(d.table)) ?? []), foldCase(d.column)]);
  for (const [tk, cols] of dropsByTable) {
    const t = tables[tk];
    const present = t ? t.columns.filter((c) => cols.includes(foldCase(c.name))).map((c) => c.name) : [];
    const create = store.expect.oldestObjects.find((o) => o.type === 'table' && foldCase(o.name) === tk)?.sql;
    if (!t || present.length === 0 || !create || !oldestSnap.tables[tk]) continue;
    columnDrops.push({ table: t.name, columns: present, create });
    // The rebuild gives the table exactly its oldest definition.
    tables[tk] = oldestSnap.tables[tk]!;
  }
  const deadTables: string[] = [];
  for (const name of store.legacy.deadTables) {
    const k = foldCase(name);
    if (tables[k]) {
      deadTables.push(tables[k]!.name);
      delete tables[k];
      for (const [ik, ix] of Object.entries(indexes)) if (ix.table === k) delete indexes[ik];
    }
  }
  const oldest = oldestSnap;
  const unknownTables = Object.keys(tables)
    .filter((k) => !oldest.tables[k])
    .map((k) => tables[k]!.name);
  const creates: MasterRow[] = [];
  const triggers = { ...snapshot.triggers };
  const views = { ...snapshot.views };
  for (const obj of store.expect.oldestObjects) {
    const k = foldCase(obj.name);
    if (obj.type === 'table' && !tables[k]) {
      creates.push(obj);
      tables[k] = oldest.tables[k]!;
    } else if (obj.type === 'index' && !indexes[k]) {
      creates.push(obj);
      indexes[k] = oldest.indexes[k]!;
    } else if (obj.type === 'trigger' && !triggers[k]) {
      creates.push(obj);
      triggers[k] = oldest.triggers[k]!;
    } else if (obj.type === 'view' && !views[k]) {
      creates.push(obj);
      views[k] = oldest.views[k]!;
    }
  }
  const remaining = diff(oldest, { tables, indexes, triggers, views });
  return { renames, columnRenames, columnDrops, dropIndexes, deadTables, creates, conflicts, unknownTables, remaining };
}

function v(n: number): string {
  return `v${n}`;
}

/** The status of a store file, from its facts. */
export function classify(facts: FileFacts, store: Store): Classification {
  const target = store.version;
  const base = { version: facts.userVersion, target };
  const name = store.file;

  if (facts.kind === 'missing') {
    return { ...base, status: 'missing', message: `no ${name} yet; up creates it at ${v(target)} from the baseline` };
  }
  if (facts.kind !== 'file') {
    return {
      ...base,
      status: 'error',
      message: `a ${facts.kind} stands where the file ${name} should be; move it away, then run up again`,
    };
  }
  if (facts.size === 0) {
    return { ...base, status: 'empty', message: `${name} is an empty file; up initializes it at ${v(target)}` };
  }
  if (!facts.header || !facts.header.sqlite) {
    return {
      ...base,
      status: 'corrupt',
      message: `${name} is not a SQLite database (${facts.size < 100 ? `only ${facts.size} bytes` : 'no SQLite header'}); restore it from a backup or move it away — stores will not touch it`,
    };
  }
  if (facts.error) {
    const code = facts.error.code;
    if (/^SQLITE_(NOTADB|CORRUPT)/.test(code)) {
      return { ...base, status: 'corrupt', message: `${name} is damaged (${code}: ${facts.error.message}); restore it from a backup — stores will not touch it` };
    }
    if (/^SQLITE_(BUSY|LOCKED)/.test(code)) {
      return {
        ...base,
        status: 'locked',
        message: `${name} is locked by another connection past the busy timeout (${code}); retry when that writer is done`,
      };
    }
    if (code === 'SQLITE_READONLY_ROLLBACK') {
      return {
        ...base,
        status: 'error',
        message: `${name} has a hot journal beside it (a writer crashed mid-transaction); \`stores up\` rolls it back to the last committed state, then reconciles`,
      };
    }
    return { ...base, status: 'error', message: `${name} cannot be read (${code}: ${facts.error.message}); fix the cause, then run again` };
  }
  if (facts.integrity !== null && facts.integrity !== 'ok') {
    const detail = facts.integrity.length > 200 ? `${facts.integrity.slice(0, 200)}…` : facts.integrity;
    return { ...base, status: 'corrupt', message: `${name} fails quick_check (${detail}); restore it from a backup — stores will not touch it` };
  }
  const uv = facts.userVersion!;
  if (uv > target) {
    return {
      ...base,
      status: 'too-new',
      message: `${name} is at ${v(uv)}, written by a newer binary (this one knows up to ${v(target)}); run that newer version, or restore an older data dir — stores never writes this file`,
    };
  }
  if (uv < 0) {
    return {
      ...base,
      status: 'foreign',
      message: `${name} has user_version ${uv}, which no version of this store writes: it belongs to another program; move it away or point stores at the right data dir`,
    };
  }
  if (uv > 0 && uv < store.minVersion) {
    return {
      ...base,
      status: 'too-old',
      message: `${name} is at ${v(uv)}, older than the oldest version this binary upgrades (${v(store.minVersion)}); upgrade it with an older release first, then run up`,
    };
  }
  if (uv === 0) {
    const snap = facts.snapshot!;
    const objects = Object.keys(snap.tables).length + Object.keys(snap.indexes).length + Object.keys(snap.views).length + Object.keys(snap.triggers).length;
    if (objects === 0) {
      return { ...base, status: 'empty', message: `${name} holds no tables; up initializes it at ${v(target)}` };
    }
    const adoption = planAdoption(snap, store);
    if (adoption.conflicts.length > 0) {
      const pairs = adoption.conflicts.map(([a, b]) => `${a} and ${b}`).join(', ');
      return {
        ...base,
        status: 'conflict',
        adoption,
        message: `${name} is a legacy file holding both an old name and its replacement (${pairs}); adoption cannot choose — merge or remove one of each pair by hand, then run adopt again`,
      };
    }
    if (adoption.unknownTables.length > 0) {
      const list = adoption.unknownTables.slice(0, 5).join(', ') + (adoption.unknownTables.length > 5 ? `, … (${adoption.unknownTables.length} in all)` : '');
      return {
        ...base,
        status: 'foreign',
        adoption,
        message: `${name} has user_version 0 and tables that match no legacy layout of store ${store.name} (${list}): it belongs to another program; move it away or point stores at the right data dir`,
      };
    }
    if (adoption.remaining.length > 0) {
      return {
        ...base,
        status: 'drift',
        adoption,
        changes: adoption.remaining,
        message: `${name} looks like a legacy file, but adopting it would not give ${v(store.minVersion)}'s schema: ${summarizeChanges(adoption.remaining)}; fix the file by hand or restore it`,
      };
    }
    const parts: string[] = [];
    if (adoption.renames.length) parts.push(`renames ${adoption.renames.length} table${adoption.renames.length === 1 ? '' : 's'}`);
    if (adoption.columnRenames.length) parts.push(`renames ${adoption.columnRenames.length} column${adoption.columnRenames.length === 1 ? '' : 's'}`);
    if (adoption.columnDrops.length) parts.push(`drops legacy columns of ${adoption.columnDrops.map((d) => d.table).join(', ')} (table rebuilt, backed up first)`);
    if (adoption.deadTables.length) parts.push(`drops ${adoption.deadTables.length} dead table${adoption.deadTables.length === 1 ? '' : 's'}${facts.deadTablesWithRows.length ? ` (${facts.deadTablesWithRows.length} with rows: backed up first)` : ''}`);
    if (adoption.creates.length) parts.push(`creates ${adoption.creates.length} missing object${adoption.creates.length === 1 ? '' : 's'}`);
    parts.push(`stamps ${v(target)}`);
    return { ...base, status: 'legacy', adoption, message: `${name} is a legacy file (user_version 0); adopt ${parts.join(', ')}` };
  }

  // A versioned file: its schema must be exactly what its version says.
  const changes = facts.matchesVersion ? [] : diff(store.expect.snapshots.get(uv)!, facts.snapshot!);
  if (changes.length > 0) {
    return {
      ...base,
      status: 'drift',
      changes,
      message: `${name} says ${v(uv)} but its schema differs: ${summarizeChanges(changes)}; see \`stores diff ${facts.file}\`${repairable(changes, store, uv) ? '; `stores up --repair` can add what is missing' : ''}`,
    };
  }
  if (uv === target) return { ...base, status: 'current', message: `${name} is current at ${v(target)}` };
  const steps = store.migrations.filter((m) => m.version > uv).map((m) => m.name);
  return { ...base, status: 'behind', message: `${name} is at ${v(uv)}, target ${v(target)}; up runs ${steps.join(', ')}` };
}

/**
 * True when `--repair` can make a drifted file match by adding only: missing tables, indexes,
 * triggers and views, and missing trailing columns that allow NULL or have a default.
 * Repair works on files at the target version.
 */
export function repairable(changes: readonly Change[], store: Store, version: number): boolean {
  if (version !== store.version) return false;
  return changes.every((c) => repairStatus(c, store) === null);
}

/** Why a difference cannot be repaired, or null when it can. */
export function repairStatus(c: Change, store: Store): string | null {
  if (c.change !== 'missing') return `${c.change} ${c.object}: repair only adds`;
  if (c.object === 'table' || c.object === 'index' || c.object === 'trigger' || c.object === 'view') return null;
  if (c.object === 'column') {
    const t = store.expect.snapshots.get(store.version)!.tables[foldCase(c.table)];
    const col = t?.columns.find((x) => foldCase(x.name) === foldCase(c.name ?? ''));
    if (!col) return 'unknown column';
    if (col.pk > 0) return `column ${c.name} is part of the primary key`;
    if (col.notNull && col.default === null) return `column ${c.name} is NOT NULL without a default`;
    if (col.generated?.stored) return `column ${c.name} is a stored generated column`;
    return null;
  }
  return `missing ${c.object}: repair cannot add it without rebuilding the table`;
}
