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
import { inspect } from '../src/schema/inspect.js';
import type { Snapshot } from '../src/schema/model.js';

/** Runs `sql` in a fresh in-memory database (then `after`, if given) and returns what it means. */
export function snap(sql: string, after?: (db: Database.Database) => void): Snapshot {
  const db = new Database(':memory:');
  try {
    db.exec(sql);
    after?.(db);
    return inspect(db);
  } finally {
    db.close();
  }
}

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const STORES = path.join(ROOT, 'stores');
export const CLI = path.join(ROOT, 'dist', 'bundle', 'main.js');

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

/** Sample rows valid at every version of objects (the v1 columns only): test/fixtures/objects-rows-v1.sql. */
export const OBJECTS_ROWS_V1 = fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'objects-rows-v1.sql'), 'utf8');

/**
 * How to run the CLI as an unprivileged user (uid 65534, "nobody"), for tests of what a user
 * without rights meets (EACCES, read-only media). As root that needs `setpriv`, and a copy of the
 * CLI that such a user can reach: a checkout inside a directory only its owner may enter (`/root`,
 * a `mktemp -d` folder) is unreadable to it. So the built CLI, the shipped registry and the
 * runtime packages are copied, world-readable, into a temporary folder of their own. When the
 * machine cannot do it (no `setpriv`, a Node binary the user cannot execute), `skip` says why;
 * a copy that does not run is an error, never a skip.
 */
export interface UnprivilegedCli {
  /** Command and arguments that start the CLI as the unprivileged user (append the CLI's args). */
  readonly argv: readonly string[];
  /** The registry folder, reachable by that user. */
  readonly stores: string;
  /** Why the case cannot run here, or null when it can. */
  readonly skip: string | null;
}

let unprivileged: UnprivilegedCli | null = null;
export function unprivilegedCli(): UnprivilegedCli {
  unprivileged ??= makeUnprivilegedCli();
  return unprivileged;
}

function makeUnprivilegedCli(): UnprivilegedCli {
  if (process.getuid?.() !== 0) return { argv: [process.execPath, CLI], stores: STORES, skip: null };
  const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
  if (spawnSync('setpriv', ['--version']).status !== 0) {
    return { argv: [], stores: STORES, skip: 'running as root without setpriv (util-linux): cannot act as an unprivileged user' };
  }
  const node = spawnSync(asNobody[0]!, [...asNobody.slice(1), process.execPath, '-e', '0'], { encoding: 'utf8' });
  if (node.status !== 0) {
    return { argv: [], stores: STORES, skip: `the unprivileged user cannot run ${process.execPath}: ${(node.stderr || node.error?.message || '').trim()}` };
  }
  const copy = fs.mkdtempSync('/tmp/stores-cli-');
  made.push(copy);
  fs.cpSync(path.join(ROOT, 'dist'), path.join(copy, 'dist'), { recursive: true });
  fs.cpSync(STORES, path.join(copy, 'stores'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(copy, 'package.json'));
  for (const pkg of runtimePackages()) {
    fs.cpSync(path.join(ROOT, pkg), path.join(copy, pkg), { recursive: true, dereference: true });
  }
  spawnSync('chmod', ['-R', 'a+rX', copy]);
  const argv = [...asNobody, process.execPath, path.join(copy, 'dist', 'bundle', 'main.js')];
  const probe = spawnSync(argv[0]!, [...argv.slice(1), 'verify', '--stores', path.join(copy, 'stores')], { encoding: 'utf8' });
  // Node runs, so a copy that does not is a bug of this helper (a runtime package left out), not
  // a limit of the machine: fail loudly rather than skip.
  if (probe.status !== 0) throw new Error(`the copied CLI does not run as uid 65534: ${probe.stderr || probe.error?.message}`);
  return { argv, stores: path.join(copy, 'stores'), skip: null };
}

/** The package folders (relative to ROOT) the built CLI loads: its dependencies, transitively. */
function runtimePackages(): string[] {
  const found = new Set<string>();
  const visit = (pkgDir: string): void => {
    const manifest = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
      peerDependencies?: Record<string, string>;
    };
    // The checkout's peer dependencies (better-sqlite3) are what a host installs beside it.
    const peers = pkgDir === ROOT ? manifest.peerDependencies : undefined;
    for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies, ...peers })) {
      // Node's lookup: the package's own node_modules, then each parent's, up to the checkout.
      for (let dir = pkgDir; ; dir = path.dirname(dir)) {
        const candidate = path.join(dir, 'node_modules', dep);
        if (fs.existsSync(path.join(candidate, 'package.json'))) {
          const rel = path.relative(ROOT, candidate);
          if (!found.has(rel)) {
            found.add(rel);
            visit(candidate);
          }
          break;
        }
        if (dir === ROOT || !dir.startsWith(ROOT)) break;
      }
    }
  };
  visit(ROOT);
  return [...found];
}
