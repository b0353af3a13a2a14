/**
 * Test helpers: real SQLite files in temporary directories, built from the shipped registry.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll } from 'vitest';
import { loadRegistry } from '../src/api.js';
import type { Registry, Store } from '../src/types.js';
import { runStep } from '../src/engine/steps.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const STORES = path.join(ROOT, 'stores');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

const made: string[] = [];
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary directory, removed after the test file. */
export function tmpDir(prefix = 'stores-test-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

let shipped: Registry | null = null;
/** The shipped registry (stores/), loaded once per test file. */
export async function registry(): Promise<Registry> {
  shipped ??= await loadRegistry(STORES);
  return shipped;
}

export function store(reg: Registry, name: string): Store {
  const s = reg.stores.find((x) => x.name === name);
  if (!s) throw new Error(`no store ${name}`);
  return s;
}

/** Writes a store file at version `v` (min ≤ v ≤ target) through the store's own history. */
export function writeAt(s: Store, file: string, v: number, rowsSql = ''): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    if (v === s.version) db.exec(s.schema);
    else {
      db.exec(s.oldestSchema);
      for (const m of s.migrations) if (m.version <= v) runStep(db, s.name, m);
    }
    if (rowsSql) db.exec(rowsSql);
    db.pragma(`user_version = ${v}`);
  } finally {
    db.close();
  }
}

/** Writes a file by running SQL (user_version as given). */
export function writeSql(file: string, sql: string, userVersion = 0): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.exec(sql);
    db.pragma(`user_version = ${userVersion}`);
  } finally {
    db.close();
  }
}

/** Reads a shipped registry file (e.g. `objects/legacy/forge-era.sql`). */
export function storesFile(rel: string): string {
  return fs.readFileSync(path.join(STORES, rel), 'utf8');
}

/** SHA-256 of a file and of each companion beside it: what "bytes unchanged" is checked against. */
export function fingerprint(file: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const suffix of ['', '-wal', '-shm', '-journal']) {
    const p = file + suffix;
    out[suffix || 'main'] = fs.existsSync(p) && fs.statSync(p).isFile() ? crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex') : null;
  }
  return out;
}

/** Opens a file read-only and runs a query. */
export function query<T = Record<string, unknown>>(file: string, sql: string): T[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

export function userVersion(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a separate process (no stdin, no colour unless asked). */
export function cli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Sample rows valid at every version of objects (the v1 columns only). */
export const OBJECTS_ROWS_V1 = `
INSERT INTO db_client VALUES ('c1', 2, '{"a":1}');
INSERT INTO db_agent_definitions (id, slug, name, provider, description, created_at) VALUES
  ('a1', 'coder', 'Coder', 'anthropic', 'd1', 11), ('a2', 'rev', 'Reviewer', 'openai', '', 22);
INSERT INTO db_agent_content VALUES ('a1', 'prompt', 'hello');
INSERT INTO db_agent_skills VALUES ('s1', 'a1', 'tests', 'x');
INSERT INTO db_agent_history (agent_id, started_at, summary) VALUES ('a1', 5, 'run');
INSERT INTO db_identity_bundles VALUES ('i1', 'github', 'octo');
INSERT INTO db_agent_identity_links VALUES ('a1', 'i1');
INSERT INTO db_memory_bundles VALUES ('m1', 'notes', 'remember', 0);
INSERT INTO db_drone_definitions VALUES ('d1', 'nightly', '{}', 1);
INSERT INTO db_drone_runs VALUES ('r1', 'd1', 'queued', NULL, NULL);
`;
