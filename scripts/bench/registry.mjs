/**
 * The registry, read straight from its folder, for the baselines and the other tools: they
 * never use stores' own code, only the same SQL files and settings.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PKG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const STORES = path.join(PKG, 'stores');

const DEFAULT_CONNECTION = {
  busy_timeout: 5000,
  journal_mode: 'WAL',
  synchronous: 'NORMAL',
  foreign_keys: 'ON',
  cache_size: -64000,
  mmap_size: 268435456,
  temp_store: 'MEMORY',
};

export function readRegistry(dir = STORES) {
  const out = [];
  for (const name of fs.readdirSync(dir).sort((a, b) => a.localeCompare(b))) {
    const sdir = path.join(dir, name);
    const jsonFile = path.join(sdir, 'store.json');
    if (!fs.existsSync(jsonFile)) continue;
    const json = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
    const read = (rel) => fs.readFileSync(path.join(sdir, rel), 'utf8');
    const version = json.version;
    const minVersion = json.minVersion ?? version;
    const oldestRel = json.oldestSchema ?? (minVersion < version ? `versions/${String(minVersion).padStart(3, '0')}.sql` : 'schema.sql');
    const seedRel = json.seed ?? (fs.existsSync(path.join(sdir, 'seed.sql')) ? 'seed.sql' : null);
    const mdir = path.join(sdir, 'migrations');
    const migrations = fs.existsSync(mdir)
      ? fs
          .readdirSync(mdir)
          .filter((f) => /^\d+-.*\.(sql|js|mjs)$/.test(f))
          .sort()
          .map((f) => {
            if (!f.endsWith('.sql')) throw new Error(`bench: ${name}/migrations/${f}: only SQL migrations are driven by the baselines and the other tools here`);
            return { version: Number(f.split('-')[0]), name: f.replace(/\.sql$/, ''), sql: fs.readFileSync(path.join(mdir, f), 'utf8') };
          })
      : [];
    out.push({
      name,
      file: json.file,
      version,
      minVersion,
      schema: read('schema.sql'),
      oldestSchema: read(oldestRel),
      seed: seedRel ? read(seedRel) : null,
      migrations,
      legacy: { renames: json.legacy?.renames ?? [], dropIndexes: json.legacy?.dropIndexes ?? [], deadTables: json.legacy?.deadTables ?? [] },
      legacySamples: (json.legacy?.samples ?? []).map((rel) => read(rel)),
      connection: json.connection ?? DEFAULT_CONNECTION,
    });
  }
  return out;
}

/**
 * A copy of the registry folder `src` at `dest` whose every store declares `journalMode`
 * (and, when that is not WAL, no checkpoint on close): how the rollback-journal fleets are
 * declared, so that the raw baselines, the other tools and `stores` all open them as a host
 * with those settings would. Returns `dest`.
 */
export function registryWithJournal(src, dest, journalMode) {
  fs.rmSync(dest, { recursive: true, force: true });
  fs.cpSync(src, dest, { recursive: true });
  for (const name of fs.readdirSync(dest)) {
    const jsonFile = path.join(dest, name, 'store.json');
    if (!fs.existsSync(jsonFile)) continue;
    const json = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
    json.connection = { ...(json.connection ?? DEFAULT_CONNECTION), journal_mode: journalMode };
    if (journalMode.toUpperCase() !== 'WAL') json.checkpointOnClose = null;
    fs.writeFileSync(jsonFile, `${JSON.stringify(json, null, 2)}\n`);
  }
  return dest;
}

/** Splits a SQL script into statements (quotes and comments respected; no triggers here). */
export function splitSql(text) {
  const out = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '-' && text[i + 1] === '-') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
      cur += '\n';
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
      continue;
    }
    if (c === "'" || c === '"' || c === '`' || c === '[') {
      const close = c === '[' ? ']' : c;
      let j = i + 1;
      for (;;) {
        if (j >= text.length) break;
        if (text[j] === close) {
          if (close !== ']' && text[j + 1] === close) j += 2;
          else break;
        } else j++;
      }
      cur += text.slice(i, j + 1);
      i = j;
      continue;
    }
    if (c === ';') {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

export const q = (name) => `"${name.replace(/"/g, '""')}"`;

/** Sample rows valid at every version of objects (v1 columns only), shared with the tests. */
export const OBJECTS_ROWS_V1 = fs.readFileSync(path.join(PKG, 'test', 'fixtures', 'objects-rows-v1.sql'), 'utf8');

let BetterSqlite3 = null;
/** better-sqlite3, imported once. */
export async function sqlite() {
  BetterSqlite3 ??= (await import('better-sqlite3')).default;
  return BetterSqlite3;
}

/** Opens `file` and applies the store's connection pragmas, in order, as a host would. */
export async function openWithSettings(file, store) {
  const Database = await sqlite();
  const db = new Database(file);
  for (const [k, v] of Object.entries(store.connection)) db.pragma(`${k} = ${v}`);
  return db;
}

/**
 * The journal mode a file's header records, read from its bytes (no SQLite connection, so
 * nothing is changed): 'wal' (read/write versions 2) or 'rollback' (1: DELETE, TRUNCATE,
 * PERSIST … are not told apart by the header), 'missing' or 'not sqlite'.
 */
export function headerJournal(file) {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return 'missing';
  }
  try {
    const b = Buffer.alloc(20);
    if (fs.readSync(fd, b, 0, 20, 0) < 20 || b.toString('latin1', 0, 15) !== 'SQLite format 3') return 'not sqlite';
    return b[18] === 2 && b[19] === 2 ? 'wal' : 'rollback';
  } finally {
    fs.closeSync(fd);
  }
}
