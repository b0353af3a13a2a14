/**
 * `stores` as a package: the tarball `npm pack` makes holds only what a user needs, and a fresh
 * host project that installs it next to drizzle-orm boots with openStores, queries through
 * drizzle-orm on the returned connection (one better-sqlite3 for both), type-checks, and runs the
 * `stores` executable.
 *
 * No network, no npm cache and no native build: the host's node_modules is seeded with copies of
 * the packages this checkout installed (better-sqlite3 with its built binary) and the lockfiles
 * npm would have written for them, then `npm install --offline --ignore-scripts` installs the
 * tarball among them as a user's npm would ("added 1 package").
 * Uses the built dist/ (run `npm run build` first: tsc, then the bundles in dist/bundle/).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ROOT, tmpDir } from './helpers.js';

const NM = path.join(ROOT, 'node_modules');
const NPM_ENV = { ...process.env, CI: 'true', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

/** An empty npm cache of the test's own: nothing may come from the network or from a warm cache. */
let npmCache = '';

function run(cmd: string, args: string[], cwd: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, env: { ...NPM_ENV, npm_config_cache: npmCache }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, shell: process.platform === 'win32' });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  bin?: Record<string, string>;
  [k: string]: unknown;
}

/**
 * This checkout's lockfile entries for `names` and everything they need at run time, found the
 * way Node resolves (`node_modules/a/node_modules/b` before `node_modules/b`).
 */
function lockClosure(names: readonly string[]): Record<string, LockEntry> {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const resolve = (from: string, name: string): string | null => {
    for (let base = from; ; ) {
      const key = `${base ? `${base}/` : ''}node_modules/${name}`;
      if (lock.packages[key]) return key;
      if (!base) return null;
      const i = base.lastIndexOf('/node_modules/');
      base = i < 0 ? '' : base.slice(0, i);
    }
  };
  const out: Record<string, LockEntry> = {};
  const todo: [string, string][] = names.map((n) => ['', n]);
  while (todo.length > 0) {
    const [from, name] = todo.pop()!;
    const key = resolve(from, name);
    if (!key) throw new Error(`${name} (needed by ${from || 'the host'}) is not in package-lock.json`);
    if (out[key]) continue;
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = lock.packages[key]!;
    out[key] = entry;
    for (const d of Object.keys(entry.dependencies ?? {})) todo.push([key, d]);
    for (const d of Object.keys(entry.optionalDependencies ?? {})) if (resolve(key, d)) todo.push([key, d]);
  }
  return out;
}

/**
 * Seeds `host/node_modules` with copies of this checkout's installed packages (better-sqlite3
 * with its built binary), their `.bin` links, and the lockfiles npm writes, so that
 * `npm install --offline` finds every package but `stores` already in place and needs neither
 * the network nor the npm cache.
 */
function seedHost(host: string, manifest: { name: string; version: string; dependencies: Record<string, string>; devDependencies: Record<string, string> }, names: readonly string[], stores: LockEntry): void {
  const entries = lockClosure(names);
  const bin = path.join(host, 'node_modules', '.bin');
  fs.mkdirSync(bin, { recursive: true });
  for (const [key, entry] of Object.entries(entries)) {
    if (key.includes('/node_modules/')) continue; // nested: copied with its parent
    const from = path.join(ROOT, key);
    if (!fs.existsSync(path.join(from, 'package.json'))) throw new Error(`${from} is missing: run npm ci`);
    fs.cpSync(from, path.join(host, key), { recursive: true, verbatimSymlinks: true });
    for (const [b, target] of Object.entries(entry.bin ?? {})) fs.symlinkSync(path.relative(bin, path.join(host, key, target)), path.join(bin, b));
  }
  const lockfile = (packages: Record<string, LockEntry>) => JSON.stringify({ name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages }, null, 2);
  const root = { name: manifest.name, version: manifest.version, dependencies: manifest.dependencies, devDependencies: manifest.devDependencies };
  fs.writeFileSync(path.join(host, 'package.json'), JSON.stringify(manifest, null, 2));
  fs.writeFileSync(path.join(host, 'package-lock.json'), lockfile({ '': root, ...entries, 'node_modules/stores': stores }));
  // The hidden lockfile last: npm trusts it only when it is newer than every package folder.
  fs.writeFileSync(path.join(host, 'node_modules', '.package-lock.json'), lockfile(entries));
}

/** What a user's package needs: the code, its declarations, the README, the manifest, the store.json schema. */
const ALLOWED_OUTSIDE_DIST = new Set(['package.json', 'README.md', 'LICENSE', 'store.schema.json']);

const HOST_JS = `
import { createRegistry, openStores } from 'stores';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { sqliteTable, integer, text } from 'drizzle-orm/sqlite-core';
import { eq } from 'drizzle-orm';
import Database from 'better-sqlite3';

const notes = sqliteTable('note', { id: integer('id').primaryKey(), body: text('body').notNull() });
const registry = createRegistry([
  { name: 'notes', file: 'notes.db', version: 1, schema: 'CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL);' },
]);
const dir = process.argv[2];
const stores = await openStores(registry, dir);
const db = drizzle({ client: stores.db.notes });
db.insert(notes).values([{ body: 'first' }, { body: 'second' }]).run();
const rows = db.select().from(notes).where(eq(notes.body, 'second')).all();
const sameModule = stores.db.notes instanceof Database;
const journal = stores.db.notes.pragma('journal_mode', { simple: true });
const actions = stores.report.map((r) => r.action);
await stores.close();
const again = await openStores(registry, dir, { create: false });
const count = again.db.notes.prepare('SELECT count(*) AS n FROM note').get().n;
await again.close();
console.log(JSON.stringify({ rows, sameModule, journal, count, actions }));
`;

const HOST_TS = `
import { createRegistry, openStores } from 'stores';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { sqliteTable, integer, text } from 'drizzle-orm/sqlite-core';

const notes = sqliteTable('note', { id: integer('id').primaryKey(), body: text('body').notNull() });
const registry = createRegistry([{ name: 'notes', file: 'notes.db', version: 1, schema: 'CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL);' }]);

export async function main(dir: string): Promise<string[]> {
  const stores = await openStores(registry, dir);
  const rows = drizzle({ client: stores.db.notes }).select().from(notes).all();
  // @ts-expect-error: no store is named nope
  stores.db.nope.close();
  await stores.close();
  return rows.map((r) => r.body);
}
`;

/** The modules a bundle loads before its first line runs: its static imports, followed through the bundle's own chunks. */
function staticImports(file: string, seen = new Set<string>()): Set<string> {
  const text = fs.readFileSync(file, 'utf8');
  for (const m of text.matchAll(/^import\s[^;]*?from\s*"([^"]+)";|^import\s*"([^"]+)";/gms)) {
    const spec = (m[1] ?? m[2])!;
    if (seen.has(spec)) continue;
    seen.add(spec);
    if (spec.startsWith('./')) staticImports(path.join(path.dirname(file), spec), seen);
  }
  return seen;
}

describe('the fleet worker bundle', () => {
  it('loads at its start only what reconciling needs: the registry loader (valibot, node:crypto) is a chunk imported on demand', () => {
    const worker = path.join(ROOT, 'dist', 'bundle', 'worker.js');
    expect(fs.existsSync(worker), 'run `npm run build` first').toBe(true);
    const loaded = [...staticImports(worker)].filter((s) => !s.startsWith('./'));
    expect(loaded).toContain('node:worker_threads');
    expect(loaded.filter((s) => /valibot|crypto|yargs/.test(s))).toEqual([]);
    // The loader is still there for a registry with JavaScript steps, as a dynamic import.
    expect(fs.readFileSync(worker, 'utf8')).toMatch(/await import\("\.\/worker-load-[A-Z0-9]+\.js"\)/);
  });
});

describe('the bundles', () => {
  it('take better-sqlite3 with require, never through the ESM loader (which would scan and wrap it at every start)', () => {
    const dir = path.join(ROOT, 'dist', 'bundle');
    const bundles = fs.readdirSync(dir).filter((f) => f.endsWith('.js'));
    expect(bundles).toEqual(expect.arrayContaining(['index.js', 'main.js', 'worker.js']));
    for (const f of bundles) expect([...staticImports(path.join(dir, f))], f).not.toContain('better-sqlite3');
    for (const f of ['index.js', 'main.js']) expect(fs.readFileSync(path.join(dir, f), 'utf8'), f).toContain('createRequire(import.meta.url)("better-sqlite3")');
    const workerSide = bundles.filter((f) => f.startsWith('worker')).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
    expect(workerSide).toContain('createRequire(import.meta.url)("better-sqlite3")');
  });

  it("leave V8's flags to the host: only the CLI's bundle sets them (src/cli/heap.ts)", () => {
    const dir = path.join(ROOT, 'dist', 'bundle');
    const setting = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.js') && fs.readFileSync(path.join(dir, f), 'utf8').includes('setFlagsFromString'))
      .sort();
    expect(setting).toEqual(['main.js']);
  });
});

describe('the packed package', () => {
  it('ships only what a user needs, installs into a fresh host, boots, serves drizzle-orm, type-checks', { timeout: 180_000 }, () => {
    const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(fs.existsSync(path.join(ROOT, 'dist', 'bundle', 'index.js')), 'run `npm run build` first').toBe(true);
    const t = tmpDir('stores-pack-');
    npmCache = path.join(t, 'npm-cache');

    // 1. The tarball and its file list (dist is built already: no scripts).
    const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', t], ROOT);
    expect(pack.code, pack.stderr).toBe(0);
    const [info] = JSON.parse(pack.stdout) as [{ filename: string; files: { path: string }[] }];
    const files = info.files.map((f) => f.path.split(path.sep).join('/')).sort();
    for (const need of ['package.json', 'README.md', 'dist/bundle/index.js', 'dist/bundle/main.js', 'dist/bundle/worker.js', 'dist/index.d.ts', 'dist/boot.d.ts']) expect(files, need).toContain(need);
    // The code ships as the three bundles and the worker's chunks (scripts/bundle.mjs); the declarations as tsc wrote them.
    const stray = files.filter((f) => (f.startsWith('dist/') ? !(/^dist\/bundle\/((index|main|worker)|worker-[a-z-]+-[A-Z0-9]+)\.js$/.test(f) || /\.d\.ts$/.test(f)) : !ALLOWED_OUTSIDE_DIST.has(f)));
    expect(stray, 'files a user does not need (the demo registry, sources, tests, source maps)').toEqual([]);

    // 2. A fresh host project: drizzle-orm and better-sqlite3 as a user lists them, stores from the tarball.
    const host = path.join(t, 'host');
    const ours = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; license: string; dependencies: Record<string, string>; peerDependencies: Record<string, string>; peerDependenciesMeta: unknown; engines: unknown };
    const installed = (name: string) => `^${(JSON.parse(fs.readFileSync(path.join(NM, name, 'package.json'), 'utf8')) as { version: string }).version}`;
    const manifest = {
      name: 'host',
      version: '1.0.0',
      private: true,
      type: 'module',
      dependencies: { stores: `file:../${info.filename}`, 'better-sqlite3': installed('better-sqlite3'), 'drizzle-orm': installed('drizzle-orm') },
      devDependencies: { '@types/better-sqlite3': installed('@types/better-sqlite3'), '@types/node': installed('@types/node') },
    };
    const storesEntry: LockEntry = {
      version: ours.version,
      resolved: `file:../${info.filename}`,
      license: ours.license,
      dependencies: ours.dependencies,
      peerDependencies: ours.peerDependencies,
      peerDependenciesMeta: ours.peerDependenciesMeta,
      bin: { stores: 'dist/bundle/main.js' },
      engines: ours.engines,
    };
    seedHost(host, manifest, [...Object.keys(manifest.dependencies).filter((n) => n !== 'stores'), ...Object.keys(manifest.devDependencies), ...Object.keys(ours.dependencies)], storesEntry);
    const install = run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], host);
    expect(install.code, `${install.stdout}${install.stderr}`).toBe(0);
    // Only the tarball was installed: every other package was found in place.
    expect(install.stdout).toMatch(/added 1 package\b/);
    expect(fs.existsSync(path.join(host, 'node_modules', 'stores', 'dist', 'bundle', 'index.js'))).toBe(true);
    // One better-sqlite3: the peer dependency resolves to the host's own.
    expect(fs.existsSync(path.join(host, 'node_modules', 'stores', 'node_modules', 'better-sqlite3'))).toBe(false);

    // 3. Boot, query through drizzle-orm on the returned connection, close.
    fs.writeFileSync(path.join(host, 'host.mjs'), HOST_JS);
    const data = path.join(t, 'data', '1.0.0');
    const r = run(process.execPath, ['host.mjs', data], host);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ rows: [{ id: 2, body: 'second' }], sameModule: true, journal: 'wal', count: 2, actions: ['created'] });

    // 4. The declarations as installed: typed store names under strict + noUncheckedIndexedAccess.
    fs.writeFileSync(path.join(host, 'host.ts'), HOST_TS);
    fs.writeFileSync(
      path.join(host, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noUncheckedIndexedAccess: true, noEmit: true, skipLibCheck: true, types: ['node'] }, files: ['host.ts'] }),
    );
    const tsc = run(process.execPath, [path.join(NM, 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], host);
    expect(tsc.code, `${tsc.stdout}${tsc.stderr}`).toBe(0);

    // 5. The executable npm linked.
    const bin = run(process.execPath, [path.join(host, 'node_modules', 'stores', 'dist', 'bundle', 'main.js'), '--version'], host);
    expect(bin.code, bin.stderr).toBe(0);
    expect(bin.stdout.trim()).toBe(version);
    expect(fs.existsSync(path.join(host, 'node_modules', '.bin', process.platform === 'win32' ? 'stores.cmd' : 'stores'))).toBe(true);

    // 6. The fleet workers as installed: a registry with a JavaScript step is loaded again in each
    // worker, through the loader chunk beside worker.js (scripts/bundle.mjs), and its step runs there.
    const reg = path.join(t, 'registry');
    fs.cpSync(path.join(ROOT, 'stores'), reg, { recursive: true });
    fs.rmSync(path.join(reg, 'objects/migrations/003-agent-definitions-user-hidden.sql'));
    fs.writeFileSync(path.join(reg, 'objects/migrations/003-user-hidden.mjs'), "export default (db) => db.exec('ALTER TABLE db_agent_definitions ADD COLUMN user_hidden INTEGER NOT NULL DEFAULT 0');\n");
    const fleet = path.join(t, 'fleet');
    const v1 = fs.readFileSync(path.join(reg, 'objects/versions/001.sql'), 'utf8');
    for (const d of ['a', 'b', 'c']) {
      fs.mkdirSync(path.join(fleet, d), { recursive: true });
      const db = new Database(path.join(fleet, d, 'objects.db'));
      db.exec(v1);
      db.pragma('user_version = 1');
      db.close();
    }
    const main = path.join(host, 'node_modules', 'stores', 'dist', 'bundle', 'main.js');
    const up = run(process.execPath, [main, 'up', '--root', fleet, '--stores', reg, '--json', '--concurrency', '2'], host);
    expect(up.code, up.stderr).toBe(0);
    const objects = (JSON.parse(up.stdout) as { dirs: { stores: { name: string; action: string; to: number }[] }[] }).dirs.map((d) => d.stores.find((s) => s.name === 'objects'));
    expect(objects.map((s) => [s?.action, s?.to])).toEqual([
      ['migrated', 4],
      ['migrated', 4],
      ['migrated', 4],
    ]);
  });
});
