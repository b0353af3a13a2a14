/**
 * The small registry the foreign-tool tests share: a store `notes` at versions 1..3 whose every
 * version's SQL is also handed, statement by statement, to each migration tool as its own
 * migrations. A file a tool brings to version V therefore ran exactly the schema steps of our
 * version V, and adopting it must give our baseline with every row kept. Version 4 exists only on
 * the tools' side: a file at 4 is ahead of the store (`too-new`).
 */
import Database from 'better-sqlite3';
import { createRegistry } from '../../src/api.js';
import type { LegacyDefinition, Store } from '../../src/types.js';

/** Each version's statements (one statement per entry: several tools run one per call). */
export const STEPS: readonly (readonly string[])[] = [
  [
    'CREATE TABLE note (id INTEGER PRIMARY KEY, title TEXT NOT NULL)',
    'CREATE TABLE tag (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)',
  ],
  [
    "ALTER TABLE note ADD COLUMN body TEXT NOT NULL DEFAULT ''",
    'CREATE TABLE note_tag (note_id INTEGER NOT NULL REFERENCES note(id), tag_id INTEGER NOT NULL REFERENCES tag(id), PRIMARY KEY (note_id, tag_id))',
  ],
  ['CREATE INDEX note_title ON note (title)', 'ALTER TABLE tag ADD COLUMN color TEXT'],
  // Only the tools know version 4.
  ['CREATE TABLE archive (id INTEGER PRIMARY KEY, note_id INTEGER NOT NULL)'],
];

/** The store's target version. */
export const TARGET = 3;

/** Short names the tools give their migrations (file names, class names). */
export const NAMES = ['create_notes', 'note_bodies', 'tag_colors', 'archive'];

export const sqlOf = (v: number): string => STEPS[v - 1]!.map((s) => `${s};`).join('\n');

/** Rows valid at version `v`, inserted once the tool has brought the file there. */
export function rowsAt(v: number): string {
  const out = ["INSERT INTO note (id, title) VALUES (1, 'first'), (2, 'second'), (3, 'it''s third')", "INSERT INTO tag (id, name) VALUES (1, 'red'), (2, 'blue')"];
  if (v >= 2) out.push("UPDATE note SET body = 'body of ' || title", 'INSERT INTO note_tag VALUES (1, 1), (1, 2), (3, 2)');
  if (v >= 3) out.push("UPDATE tag SET color = '#f00' WHERE id = 1");
  if (v >= 4) out.push('INSERT INTO archive VALUES (1, 2)');
  return out.map((s) => `${s};`).join('\n');
}

/** The `notes` store: baseline at 3, oldest at 1, migrations 2 and 3, with the given legacy rules. */
export function notesStore(legacy: LegacyDefinition): Store {
  let schema = '';
  const db = new Database(':memory:');
  try {
    for (let v = 1; v <= TARGET; v++) db.exec(sqlOf(v));
    schema = (db.prepare("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY rowid").all() as { sql: string }[]).map((r) => `${r.sql};`).join('\n');
  } finally {
    db.close();
  }
  const migrations = [2, 3].map((v) => ({ version: v, name: `00${v}-${NAMES[v - 1]}.sql`, sql: sqlOf(v) }));
  return createRegistry([{ name: 'notes', file: 'notes.db', version: TARGET, minVersion: 1, schema, oldestSchema: sqlOf(1), migrations, legacy }]).stores[0]!;
}

/** Every row of every user table, by table (rowid order): what "every row kept" is checked against. */
export function allRows(file: string): Record<string, Record<string, unknown>[]> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    const out: Record<string, Record<string, unknown>[]> = {};
    for (const t of tables) out[t] = db.prepare(`SELECT * FROM "${t}" ORDER BY rowid`).all() as Record<string, unknown>[];
    return out;
  } finally {
    db.close();
  }
}
