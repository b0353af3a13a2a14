/**
 * Builds a fleet of data dirs in mixed, known states, for fleet, report and HTML tests.
 * Files are copied from templates made once, so hundreds of dirs take well under a second.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Registry } from '../src/types.js';
import type { Status } from '../src/errors.js';
import { SHORT_RUN } from '../src/fleet/run.js';
import { store, storesFile, tmpDir, writeAt, writeSql } from './helpers.js';

/** The state given to objects.db in each data dir, in rotation; filestore and sagas are current. */
export const OBJECTS_STATES = ['current', 'behind', 'legacy', 'missing', 'empty', 'too-new', 'drift', 'corrupt', 'conflict', 'foreign'] as const;
export type ObjectsState = (typeof OBJECTS_STATES)[number];

function templates(reg: Registry, dir: string): Record<string, string> {
  const t: Record<string, string> = {};
  const put = (name: string, make: (file: string) => void) => {
    const file = path.join(dir, name);
    make(file);
    t[name] = file;
  };
  const objects = store(reg, 'objects');
  put('current', (f) => writeAt(objects, f, 4));
  put('behind', (f) => writeAt(objects, f, 2, "INSERT INTO db_agent_definitions (id, name, provider) VALUES ('a', 'A', 'p');"));
  put('legacy', (f) => writeSql(f, storesFile('objects/legacy/forge-era.sql')));
  put('empty', (f) => fs.writeFileSync(f, ''));
  put('too-new', (f) => writeSql(f, storesFile('objects/schema.sql'), 6));
  put('drift', (f) => writeSql(f, storesFile('objects/schema.sql') + 'DROP INDEX idx_agents_definition;', 4));
  put('corrupt', (f) => fs.writeFileSync(f, 'not a database\n'.repeat(64)));
  put('conflict', (f) => writeSql(f, storesFile('objects/legacy/forge-era.sql') + 'CREATE TABLE db_agent_definitions (id TEXT PRIMARY KEY);'));
  put('foreign', (f) => writeSql(f, 'CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL);'));
  put('filestore', (f) => writeAt(store(reg, 'filestore'), f, 1));
  put('sagas', (f) => writeAt(store(reg, 'sagas'), f, 1));
  return t;
}

export interface BuiltFleet {
  readonly dirs: readonly string[];
  /** Expected status counts over every store of every dir. */
  readonly byStatus: Partial<Record<Status, number>>;
  /** The state of objects.db per dir. */
  readonly states: ReadonlyMap<string, ObjectsState>;
}

/**
 * `count` data dirs under `root`, shaped like a host (`<app version>/shard-NNN/`), objects.db in
 * the rotation of {@link OBJECTS_STATES}.
 */
export function buildFleet(reg: Registry, root: string, count: number): BuiltFleet {
  const tpl = templates(reg, fs.mkdtempSync(path.join(path.dirname(root), 'tpl-')));
  const dirs: string[] = [];
  const states = new Map<string, ObjectsState>();
  const byStatus: Partial<Record<Status, number>> = {};
  const add = (s: Status) => (byStatus[s] = (byStatus[s] ?? 0) + 1);
  for (let i = 0; i < count; i++) {
    const dir = path.join(root, `1.${i % 4}.0`, `shard-${String(i).padStart(3, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    const state = OBJECTS_STATES[i % OBJECTS_STATES.length]!;
    if (state !== 'missing') fs.copyFileSync(tpl[state]!, path.join(dir, 'objects.db'));
    fs.copyFileSync(tpl.filestore!, path.join(dir, 'filestore.db'));
    fs.copyFileSync(tpl.sagas!, path.join(dir, 'sagas.db'));
    dirs.push(dir);
    states.set(dir, state);
    add(state);
    add('current');
    add('current');
  }
  return { dirs: dirs.sort(), byStatus, states };
}


/**
 * A long fleet run: SHORT_RUN + 1 data dirs (d000, d001, …) under a new root, in each a
 * sagas.db made by `make` (an empty file unless said otherwise). In sorted order they come before
 * any dir whose name starts with a later letter (`z-huge`, say).
 */
export function longRun(make: (file: string) => void = (file) => fs.writeFileSync(file, '')): { root: string; dirs: string[] } {
  const root = tmpDir();
  const dirs: string[] = [];
  for (let i = 0; i <= SHORT_RUN; i++) {
    const dir = path.join(root, `d${String(i).padStart(3, '0')}`);
    fs.mkdirSync(dir);
    make(path.join(dir, 'sagas.db'));
    dirs.push(dir);
  }
  return { root, dirs };
}

/**
 * A foreign file whose schema outgrows a worker's capped heap: 2,000 tables of 150 columns. The
 * issue's file, 20,000 tables of 6 columns, takes ~40 s to build here (each CREATE TABLE scans
 * sqlite_schema); this one makes as big a schema in a second.
 */
export function writeHugeForeignFile(file: string): void {
  const cols = Array.from({ length: 150 }, (_, j) => `c${j} TEXT`).join(', ');
  writeSql(file, `BEGIN; ${Array.from({ length: 2000 }, (_, i) => `CREATE TABLE t${i} (id INTEGER PRIMARY KEY, ${cols});`).join('\n')} COMMIT;`);
}
