/**
 * What `stores import` reads, as plain data: the migrations of a folder (numbered SQL files or a
 * drizzle-kit folder) or the schema of a live database file. Nothing here writes: a live file is
 * read from a copy in a temporary folder (with its `-wal` and `-journal`, so SQLite shows what a
 * reader of the file would see), never opened in place.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { MasterRow } from '../schema/model.js';
import { foldCase } from '../sql/tokens.js';
import { objectsInOrder } from '../engine/expect.js';
import { PRESETS, type ToolName } from '../engine/history-presets.js';

/** An import refused: the message names the source file and the reason, and ends saying nothing was written. Exit code 2. */
export class ImportError extends Error {
  override readonly name = 'ImportError';
  readonly code = 'IMPORT_REFUSED';
  constructor(message: string) {
    super(`${message}; nothing was written`);
  }
}

/** One migration of the app, in the order its tool applies them. */
export interface SourceMigration {
  /** The file it comes from, relative to the folder (`002_plan_schema.sql`, `0001_quick_the_call.sql`). */
  readonly file: string;
  /** A readable name for `migrations/NNN-<what>.sql` (letters, digits, `.`, `_`, `-`). */
  readonly what: string;
  /** The tool's identifier of the migration (drizzle: the journal's `when`; numbered files: the number as written). */
  readonly id: string;
  /** Its statements, as the tool would run them, in order. */
  readonly statements: readonly string[];
}

export type Source =
  | { readonly kind: 'numbered'; readonly dir: string; readonly migrations: readonly SourceMigration[]; readonly tool: 'dbmate' | null }
  | { readonly kind: 'drizzle'; readonly dir: string; readonly migrations: readonly SourceMigration[] }
  | { readonly kind: 'file'; readonly file: string; readonly userVersion: number; readonly objects: readonly MasterRow[]; readonly bookkeeping: readonly Bookkeeping[] };

/** A migration tool's bookkeeping found in a live file (read by its `legacy.history` preset). */
export interface Bookkeeping {
  readonly tool: ToolName;
  readonly kind: 'log' | 'version';
  readonly tables: readonly string[];
  /** The identifiers of the applied migrations (log tools) or the version recorded (version tools). */
  readonly applied: readonly string[];
  readonly current: string | null;
  /** A failed, unfinished or dirty migration the tool recorded; null when clean. */
  readonly problem: string | null;
}

/** `001_initial.sql`, `002-plan-schema.sql`, `0001_x.up.sql` (golang-migrate style; `.down.sql` is skipped). */
const NUMBERED = /^(\d+)[_-]([^/]*?)(\.up)?\.sql$/;
const DOWN = /^\d+[_-].*\.down\.sql$/;

/** A name fit for `NNN-<what>.sql`. */
export function slug(text: string): string {
  const s = text
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .replace(/-{2,}/g, '-');
  return s === '' ? 'step' : s.replace(/_/g, '-').toLowerCase();
}

/** Reads FROM: a drizzle-kit folder, a folder of numbered SQL files, or a database file. */
export function readSource(from: string): Source {
  let st: fs.Stats;
  try {
    st = fs.statSync(from);
  } catch {
    throw new ImportError(`${from}: no such file or folder (import reads a folder of numbered SQL files, a drizzle-kit migrations folder or a database file)`);
  }
  if (st.isFile()) return readLiveFile(from);
  if (!st.isDirectory()) throw new ImportError(`${from} is neither a folder nor a file`);
  if (fs.existsSync(path.join(from, 'meta', '_journal.json'))) return readDrizzle(from);
  return readNumbered(from);
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ImportError(`${file}: cannot read: ${(err as Error).message}`);
  }
}

/**
 * A folder of numbered SQL files, applied in the order of their numbers (as the file name writes
 * it: `001` and `1` are the same number, so two of them are refused). Files that are not
 * numbered SQL files are named in the refusal, so that nothing is silently left out.
 */
function readNumbered(dir: string): Source {
  const files = fs.readdirSync(dir).filter((f) => !f.startsWith('.')).sort();
  const found: { n: bigint; id: string; file: string; what: string }[] = [];
  const others: string[] = [];
  for (const f of files) {
    if (DOWN.test(f)) continue;
    const m = NUMBERED.exec(f);
    if (!m || !fs.statSync(path.join(dir, f)).isFile()) {
      if (!/\.(md|txt)$/i.test(f)) others.push(f);
      continue;
    }
    found.push({ n: BigInt(m[1]!), id: m[1]!, file: f, what: slug(m[2]!) });
  }
  if (found.length === 0) {
    throw new ImportError(`${dir}: no migration found: expected numbered SQL files (001_initial.sql, 002_more.sql, or 0001_x.up.sql) or a drizzle-kit folder (meta/_journal.json)`);
  }
  if (others.length > 0) {
    const one = others.length === 1;
    throw new ImportError(
      `${dir}: ${others.join(', ')} ${one ? 'is not a numbered SQL file' : 'are not numbered SQL files'} (NNN_<what>.sql or NNN_<what>.up.sql): nothing is left out silently; move ${one ? 'it' : 'them'} out of the folder, or name ${one ? 'it' : 'them'} as a migration`,
    );
  }
  found.sort((a, b) => (a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
  for (let i = 1; i < found.length; i++) {
    if (found[i]!.n === found[i - 1]!.n) throw new ImportError(`${dir}: ${found[i - 1]!.file} and ${found[i]!.file} have the same number: the order they run in is unknown; renumber one`);
  }
  const texts = found.map((f) => readText(path.join(dir, f.file)));
  const dbmate = texts.map((t) => DBMATE_UP.test(t));
  if (dbmate.some((d) => d) && !dbmate.every((d) => d)) {
    const without = found.filter((_, i) => !dbmate[i]).map((f) => f.file);
    throw new ImportError(`${dir}: some files are dbmate migrations (\`-- migrate:up\`) and ${without.join(', ')} ${without.length === 1 ? 'is' : 'are'} not: dbmate would refuse ${without.length === 1 ? 'it' : 'them'} too; add the \`-- migrate:up\` line`);
  }
  const tool = dbmate.length > 0 && dbmate.every((d) => d) ? 'dbmate' : null;
  return {
    kind: 'numbered',
    dir,
    tool,
    migrations: found.map((f, i) => ({ file: f.file, what: f.what, id: f.id, statements: [tool === 'dbmate' ? dbmateUp(texts[i]!) : texts[i]!] })),
  };
}

/** dbmate's sections (https://github.com/amacneil/dbmate#creating-migrations): `-- migrate:up [options]` … `-- migrate:down`. */
const DBMATE_UP = /^--[ \t]*migrate:up\b[^\n]*$/m;
const DBMATE_DOWN = /^--[ \t]*migrate:down\b[^\n]*$/m;

/** The up section of a dbmate migration: what dbmate runs for `up`. */
function dbmateUp(text: string): string {
  const up = DBMATE_UP.exec(text)!;
  const rest = text.slice(up.index + up[0].length);
  const down = DBMATE_DOWN.exec(rest);
  return down ? rest.slice(0, down.index) : rest;
}

interface JournalEntry {
  readonly idx?: number;
  readonly when: number;
  readonly tag: string;
  readonly breakpoints?: boolean;
}

/**
 * A drizzle-kit folder, read as drizzle-orm's migrator reads it (drizzle-orm/migrator.js): the
 * entries of `meta/_journal.json` in order, each `<tag>.sql` split on `--> statement-breakpoint`,
 * identified by its `when` (what the migrator records as `created_at`).
 */
function readDrizzle(dir: string): Source {
  const journalFile = path.join(dir, 'meta', '_journal.json');
  let journal: { dialect?: string; entries?: JournalEntry[] };
  try {
    journal = JSON.parse(readText(journalFile)) as typeof journal;
  } catch (err) {
    if (err instanceof ImportError) throw err;
    throw new ImportError(`${journalFile}: not valid JSON: ${(err as Error).message}`);
  }
  if (journal.dialect !== undefined && journal.dialect !== 'sqlite' && journal.dialect !== 'turso') {
    throw new ImportError(`${journalFile}: the journal is for dialect ${JSON.stringify(journal.dialect)}; stores imports SQLite migrations only`);
  }
  const entries = journal.entries;
  if (!Array.isArray(entries) || entries.length === 0) throw new ImportError(`${journalFile}: the journal lists no migration (entries is empty)`);
  const migrations: SourceMigration[] = [];
  const seen = new Set<string>();
  for (const [i, e] of entries.entries()) {
    if (typeof e?.tag !== 'string' || typeof e.when !== 'number') throw new ImportError(`${journalFile}: entries[${i}] needs a "tag" (string) and a "when" (number)`);
    const id = String(e.when);
    if (seen.has(id)) throw new ImportError(`${journalFile}: entries[${i}] (${e.tag}) has the same "when" as an earlier entry: drizzle would skip one of them`);
    seen.add(id);
    const file = `${e.tag}.sql`;
    const text = readText(path.join(dir, file));
    const what = slug(e.tag.replace(/^\d+_?/, ''));
    migrations.push({ file, what, id, statements: text.split('--> statement-breakpoint') });
  }
  return { kind: 'drizzle', dir, migrations };
}

/** The objects a schema script must create, in creation order (the engine's: shadow tables left out). */
export const schemaObjects = objectsInOrder;

/**
 * A live database file, read from a copy: the file and its companions are copied to a temporary
 * folder and the copy is opened, so the file is never opened, locked or recovered in place.
 */
function readLiveFile(file: string): Source {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stores-import-'));
  try {
    const copy = path.join(tmp, 'copy.db');
    fs.copyFileSync(file, copy);
    for (const suffix of ['-wal', '-journal']) if (fs.existsSync(file + suffix)) fs.copyFileSync(file + suffix, copy + suffix);
    let db: Database.Database;
    try {
      db = new Database(copy, { fileMustExist: true });
    } catch (err) {
      throw new ImportError(`${file}: cannot be read as a SQLite database: ${(err as Error).message}`);
    }
    try {
      const userVersion = db.pragma('user_version', { simple: true }) as number;
      const objects = schemaObjects(db);
      // Each preset whose marker table the file holds in that tool's shape (read throws otherwise).
      const tables = new Set(objects.filter((o) => o.type === 'table').map((o) => foldCase(o.name)));
      const bookkeeping = Object.values(PRESETS).flatMap((preset): Bookkeeping[] => {
        if (!tables.has(foldCase(preset.marker))) return [];
        try {
          const read = preset.read(db);
          return [{ tool: preset.tool, kind: preset.kind, tables: preset.tables, applied: read.applied, current: read.current, problem: read.problem }];
        } catch {
          return [];
        }
      });
      return { kind: 'file', file, userVersion, objects, bookkeeping };
    } catch (err) {
      throw new ImportError(`${file}: cannot be read as a SQLite database: ${(err as Error).message}`);
    } finally {
      db.close();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
