/**
 * The fleets: template files per journal mode, flavour (as each tool leaves its files) and state,
 * data dirs copied from them, and the checks run on what a tool left.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzleDir, drizzleFolders, expectedRecords, kyselyDir } from './peers.mjs';
import { OBJECTS_ROWS_V1, headerJournal } from './registry.mjs';

/** The journal modes the fleets come in: the pragma their stores declare, a label, what the file header records. */
export const JOURNALS = { delete: { pragma: 'DELETE', label: 'rollback', header: 'rollback' }, wal: { pragma: 'WAL', label: 'WAL', header: 'wal' } };

/** Template files per flavour and state, every one in journal mode `mode`, built as each tool leaves them. */
export async function buildTemplates(lib, mode, reg, tpl) {
  const { registry } = reg;
  const objects = registry.find((s) => s.name === 'objects');
  const writeSql = (file, sql, userVersion) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const db = new Database(file);
    db.pragma(`journal_mode = ${JOURNALS[mode].pragma}`);
    db.exec('BEGIN');
    db.exec(sql);
    db.pragma(`user_version = ${userVersion}`);
    db.exec('COMMIT');
    db.close();
  };
  const files = (dir) => Object.fromEntries(registry.map((st) => [st.file, path.join(dir, st.file)]));
  const behind = [1, 2, 3].filter((v) => v >= objects.minVersion && v < objects.version);
  const T = {};
  // stores (and umzug and raw, whose state is user_version: the very same files)
  const cur = path.join(tpl, 'stores-current');
  await (await lib.openStores(reg.lib, cur)).close();
  T.stores = { current: files(cur) };
  for (const v of behind) {
    const f = path.join(tpl, `stores-v${v}`, objects.file);
    writeSql(f, objects.oldestSchema + objects.migrations.filter((m) => m.version <= v).map((m) => m.sql).join('\n') + OBJECTS_ROWS_V1, v);
    T.stores[`v${v}`] = { ...T.stores.current, [objects.file]: f };
  }
  T.stores.legacy = {};
  for (const st of registry) {
    const f = path.join(tpl, 'legacy', st.file);
    writeSql(f, st.legacySamples[0], 0);
    T.stores.legacy[st.file] = f;
  }
  T.raw = T.stores;
  T.umzug = T.stores;
  // Kysely and drizzle: their fleets are what they themselves leave (their own tables included).
  const kcur = path.join(tpl, 'kysely-current');
  await kyselyDir(registry, kcur);
  T.kysely = { current: files(kcur), legacy: T.stores.legacy };
  const dcur = path.join(tpl, 'drizzle-current');
  await drizzleDir(registry, dcur, drizzleFolders(registry, reg.drizzle));
  T.drizzle = { current: files(dcur) };
  for (const v of behind) {
    const k = path.join(tpl, `kysely-v${v}`);
    await kyselyDir([objects], k, v);
    const d = path.join(tpl, `drizzle-v${v}`);
    await drizzleDir([objects], d, drizzleFolders([objects], path.join(tpl, `drizzle-folders-v${v}`), v), false);
    for (const f of [path.join(k, objects.file), path.join(d, objects.file)]) {
      const db = new Database(f);
      db.exec(OBJECTS_ROWS_V1);
      db.close();
    }
    T.kysely[`v${v}`] = { ...T.kysely.current, [objects.file]: path.join(k, objects.file) };
    T.drizzle[`v${v}`] = { ...T.drizzle.current, [objects.file]: path.join(d, objects.file) };
  }
  // Every template in the fleet's journal mode, whatever the tool left, and nothing beside it.
  for (const f of new Set(Object.values(T).flatMap((states) => Object.values(states).flatMap((s) => Object.values(s))))) {
    const db = new Database(f);
    db.pragma(`journal_mode = ${JOURNALS[mode].pragma}`);
    db.close();
    if (headerJournal(f) !== JOURNALS[mode].header) throw new Error(`bench: template ${f} is ${headerJournal(f)}, expected ${JOURNALS[mode].header}`);
  }
  for (const f of fs.readdirSync(tpl, { recursive: true })) if (/-(wal|shm|journal)$/.test(f)) throw new Error(`bench: template left ${path.join(tpl, f)}`);
  return T;
}

/** `count` data dirs under `root` (`1.N.0/shard-NNNNN/`). */
export const dirNames = (root, count) => Array.from({ length: count }, (_, i) => path.join(root, `1.${i % 4}.0`, `shard-${String(i).padStart(5, '0')}`));
/** Builds `count` data dirs under `root`, dir i from the templates `T[stateOf(i)]`. */
export const buildFleet = (root, count, T, stateOf) => {
  fs.rmSync(root, { recursive: true, force: true });
  const dirs = dirNames(root, count);
  dirs.forEach((dir, i) => {
    fs.mkdirSync(dir, { recursive: true });
    for (const [name, src] of Object.entries(T[stateOf(i)])) fs.copyFileSync(src, path.join(dir, name));
  });
  return dirs;
};
export const rm = (p) => fs.rmSync(p, { recursive: true, force: true });
/** The journal modes the headers of a sample of the fleet's files record (first, middle, last dir). */
export const journalOf = (dirs, registry) => {
  const sample = [...new Set([0, Math.floor(dirs.length / 2), dirs.length - 1])].flatMap((i) => registry.map((st) => path.join(dirs[i], st.file)));
  const counts = {};
  for (const f of sample) counts[headerJournal(f)] = (counts[headerJournal(f)] ?? 0) + 1;
  const kinds = Object.keys(counts);
  return { mode: kinds.length === 1 ? kinds[0] : kinds.map((k) => `${k} ${counts[k]}`).join(', '), sampled: sample.length, counts };
};

/** Every store file of `dirs` is at its target, as its tool records it. */
export const validate = (dirs, flavour, registry) => {
  for (const dir of dirs) {
    for (const st of registry) {
      const f = path.join(dir, st.file);
      const db = new Database(f, { readonly: true, fileMustExist: true });
      try {
        const table = { kysely: 'kysely_migration', drizzle: '__drizzle_migrations' }[flavour];
        if (table) {
          const n = db.prepare(`SELECT count(*) AS n FROM ${table}`).get().n;
          if (n !== expectedRecords(st)) throw new Error(`bench: ${f}: ${table} holds ${n} rows, expected ${expectedRecords(st)}`);
        } else {
          const uv = db.pragma('user_version', { simple: true });
          if (uv !== st.version) throw new Error(`bench: ${f}: user_version ${uv}, expected ${st.version} (${flavour})`);
        }
        if (st.name === 'objects') {
          const has = db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name IN ('db_agents', 'db_memory_bundles')").get().n;
          const blank = db.prepare("SELECT count(*) AS n FROM db_memory_bundles WHERE id = 'blank'").get().n;
          if (has !== 2 || blank !== 1) throw new Error(`bench: ${f}: not at the latest schema with its seed row (${flavour})`);
        }
      } finally {
        db.close();
      }
    }
  }
};
