/**
 * Property tests: random additive histories (tables, columns with defaults, indexes) and random
 * rows. A file migrated from any version equals a fresh file by meaning, and no row is lost.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reconcileStore } from '../src/engine/reconcile.js';
import { createRegistry } from '../src/api.js';
import type { StoreDefinition } from '../src/types.js';
import { diff } from '../src/schema/diff.js';
import { inspect } from '../src/schema/inspect.js';
import { tmpDir } from './helpers.js';

type ColType = 'TEXT' | 'INTEGER' | 'REAL';
interface Col {
  name: string;
  type: ColType;
  /** NOT NULL DEFAULT <literal>, or nullable when null. */
  def: string | null;
}
interface Table {
  name: string;
  cols: Col[];
}
type Op = { kind: 'table'; table: Table } | { kind: 'column'; table: number; col: Col } | { kind: 'index'; table: number; col: number };

const colType = fc.constantFrom<ColType>('TEXT', 'INTEGER', 'REAL');
const literal = (t: ColType) => (t === 'TEXT' ? fc.constantFrom("''", "'x'", "'{}'") : t === 'INTEGER' ? fc.integer({ min: -5, max: 5 }).map(String) : fc.constantFrom('0.5', '0', '-1.25'));
const col = (name: string) => colType.chain((type) => fc.option(literal(type), { nil: null }).map((def) => ({ name, type, def })));

/** A history: an initial set of tables, then versions of additive steps. */
const history = fc
  .record({
    initial: fc.integer({ min: 1, max: 3 }),
    widths: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 3 }),
    steps: fc.array(fc.array(fc.tuple(fc.constantFrom('table', 'column', 'column', 'index'), fc.nat(), fc.nat()), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }),
    seed: fc.array(col('c'), { minLength: 30, maxLength: 30 }),
  })
  .map(({ initial, widths, steps, seed }) => {
    let n = 0;
    const nextCol = (): Col => ({ ...seed[n % seed.length]!, name: `c${n++}` });
    const tables: Table[] = [];
    for (let i = 0; i < initial; i++) tables.push({ name: `t${i}`, cols: Array.from({ length: widths[i]! }, nextCol) });
    const initialTables = tables.map((t) => ({ name: t.name, cols: [...t.cols] }));
    const versions: Op[][] = steps.map((ops) =>
      ops.map(([kind, a, b]): Op => {
        if (kind === 'table') {
          const t = { name: `t${tables.length}`, cols: [nextCol()] };
          tables.push({ name: t.name, cols: [...t.cols] });
          return { kind: 'table', table: t };
        }
        const ti = a % tables.length;
        if (kind === 'column') {
          const c = nextCol();
          tables[ti]!.cols.push(c);
          return { kind: 'column', table: ti, col: c };
        }
        return { kind: 'index', table: ti, col: b % tables[ti]!.cols.length };
      }),
    );
    return { initialTables, versions };
  });

const colDdl = (c: Col) => `${c.name} ${c.type}${c.def === null ? '' : ` NOT NULL DEFAULT ${c.def}`}`;
const tableDdl = (t: Table) => `CREATE TABLE ${t.name} (id INTEGER PRIMARY KEY, ${t.cols.map(colDdl).join(', ')});`;

/** Turns a history into a store definition: frozen v1, one migration per version, flat baseline. */
function toStore(h: { initialTables: Table[]; versions: Op[][] }): StoreDefinition {
  const tables = h.initialTables.map((t) => ({ name: t.name, cols: [...t.cols] }));
  const indexes: string[] = [];
  const migrations = h.versions.map((ops, i) => {
    const sql: string[] = [];
    for (const op of ops) {
      if (op.kind === 'table') {
        tables.push({ name: op.table.name, cols: [...op.table.cols] });
        sql.push(tableDdl(op.table));
      } else if (op.kind === 'column') {
        tables[op.table]!.cols.push(op.col);
        sql.push(`ALTER TABLE ${tables[op.table]!.name} ADD COLUMN ${colDdl(op.col)};`);
      } else {
        const t = tables[op.table]!;
        const name = `ix_${t.name}_${t.cols[op.col]!.name}_${i + 2}_${indexes.length}`;
        const stmt = `CREATE INDEX ${name} ON ${t.name}(${t.cols[op.col]!.name});`;
        indexes.push(stmt);
        sql.push(stmt);
      }
    }
    return { version: i + 2, name: `${String(i + 2).padStart(3, '0')}-step.sql`, sql: sql.join('\n') };
  });
  return {
    name: 'prop',
    file: 'prop.db',
    version: h.versions.length + 1,
    minVersion: 1,
    oldestSchema: h.initialTables.map(tableDdl).join('\n'),
    schema: [...tables.map(tableDdl), ...indexes].join('\n'),
    migrations,
  };
}

const value = (t: ColType) => (t === 'TEXT' ? fc.string({ maxLength: 12 }) : t === 'INTEGER' ? fc.integer() : fc.integer({ min: -1000, max: 1000 }).map((x) => x / 8));

describe('random additive histories', () => {
  it('a file migrated from any version, with random rows, equals a fresh file and keeps every row', () => {
    const root = tmpDir();
    let run = 0;
    fc.assert(
      fc.property(
        history.chain((h) => {
          const def = toStore(h);
          return fc.record({ def: fc.constant(def), from: fc.integer({ min: 1, max: def.version }), rowCount: fc.integer({ min: 0, max: 8 }), seedRows: fc.infiniteStream(fc.tuple(value('TEXT'), value('INTEGER'), value('REAL'))) });
        }),
        ({ def, from, rowCount, seedRows }) => {
          const reg = createRegistry([def]);
          const store = reg.stores[0]!;
          const dir = path.join(root, `case-${run++}`);
          fs.mkdirSync(dir);
          const file = path.join(dir, 'prop.db');
          // A file at version `from`, with rows in every table that exists then.
          const db = new Database(file);
          db.exec(def.oldestSchema!);
          for (const m of def.migrations!) if (m.version <= from) db.exec(m.sql!);
          db.pragma(`user_version = ${from}`);
          const snapAt = inspect(db);
          const it = seedRows[Symbol.iterator]();
          for (const t of Object.values(snapAt.tables)) {
            const cols = t.columns.filter((c) => c.pk === 0);
            const ins = db.prepare(`INSERT INTO ${t.name} (${cols.map((c) => c.name).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
            for (let r = 0; r < rowCount; r++) {
              const [s, i, f] = it.next().value as [string, number, number];
              ins.run(...cols.map((c) => (c.type === 'TEXT' ? s : c.type === 'INTEGER' ? i : f)));
            }
          }
          const before = Object.fromEntries(Object.values(snapAt.tables).map((t) => [t.name, db.prepare(`SELECT * FROM ${t.name} ORDER BY id`).all() as Record<string, unknown>[]]));
          db.close();

          const r = reconcileStore(store, dir, { mode: 'up' });
          expect(r.action, r.message).toBe(from === def.version ? 'unchanged' : 'migrated');
          // Equal by meaning to a fresh file.
          const fresh = path.join(dir, 'fresh');
          expect(reconcileStore(store, fresh, { mode: 'up' }).action).toBe('created');
          const a = new Database(file, { readonly: true });
          const b = new Database(path.join(fresh, 'prop.db'), { readonly: true });
          try {
            expect(diff(inspect(b), inspect(a))).toEqual([]);
            expect(a.pragma('user_version', { simple: true })).toBe(def.version);
            // No row lost; old columns unchanged; new columns hold their defaults.
            for (const [t, old] of Object.entries(before)) {
              const now = a.prepare(`SELECT * FROM ${t} ORDER BY id`).all() as Record<string, unknown>[];
              expect(now.length).toBe(old.length);
              old.forEach((row, i) => expect(now[i]).toMatchObject(row));
            }
          } finally {
            a.close();
            b.close();
          }
        },
      ),
      { numRuns: 60, seed: Number(process.env.STORES_PROPERTY_SEED ?? 20261121) },
    );
  });
});
