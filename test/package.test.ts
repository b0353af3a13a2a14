/**
 * `stores` as a package: the tarball `npm pack` makes holds only what a user needs, and a fresh
 * host project that installs it next to drizzle-orm boots with openStores, queries through
 * drizzle-orm on the returned connection (one better-sqlite3 for both), type-checks, and runs the
 * `stores` executable.
 *
 * No network and no native build: the host's node_modules is seeded with copies of the packages
 * this checkout already installed (better-sqlite3 with its built binary), then
 * `npm install --offline --ignore-scripts` installs the tarball among them as a user's npm would.
 * Uses the built dist/ (run `npx tsc -p .` first).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tmpDir } from './helpers.js';

const NM = path.join(ROOT, 'node_modules');
const NPM_ENV = { ...process.env, CI: 'true', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

function run(cmd: string, args: string[], cwd: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, env: NPM_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, shell: process.platform === 'win32' });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** Where Node would find package `name` required from `fromDir` (inside this checkout's node_modules), or null. */
function resolveFrom(fromDir: string, name: string): string | null {
  for (let dir = fromDir; dir.startsWith(ROOT); dir = path.dirname(dir)) {
    const p = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(p, 'package.json'))) return p;
    if (dir === ROOT) break;
  }
  return null;
}

/**
 * The top-level folders of node_modules holding `names` and everything they need at run time,
 * resolved the way Node resolves (nested node_modules included).
 */
function closure(names: readonly string[]): string[] {
  const top = new Set<string>();
  const seen = new Set<string>();
  const todo = names.map((n) => [ROOT, n] as const).slice();
  while (todo.length > 0) {
    const [from, name] = todo.pop()!;
    const at = resolveFrom(from, name);
    if (!at) throw new Error(`${name} (needed from ${from}) is not installed in ${NM}: run npm ci`);
    if (seen.has(at)) continue;
    seen.add(at);
    const rel = path.relative(NM, at).split(path.sep);
    top.add(rel[0]!.startsWith('@') ? `${rel[0]}/${rel[1]}` : rel[0]!);
    const pkg = JSON.parse(fs.readFileSync(path.join(at, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const d of Object.keys(pkg.dependencies ?? {})) todo.push([at, d]);
    for (const d of Object.keys(pkg.optionalDependencies ?? {})) if (resolveFrom(at, d)) todo.push([at, d]);
  }
  return [...top].sort();
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

describe('the packed package', () => {
  it('ships only what a user needs, installs into a fresh host, boots, serves drizzle-orm, type-checks', { timeout: 180_000 }, () => {
    const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(fs.existsSync(path.join(ROOT, 'dist', 'index.js')), 'run `npx tsc -p .` first').toBe(true);
    const t = tmpDir('stores-pack-');

    // 1. The tarball and its file list (dist is built already: no scripts).
    const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', t], ROOT);
    expect(pack.code, pack.stderr).toBe(0);
    const [info] = JSON.parse(pack.stdout) as [{ filename: string; files: { path: string }[] }];
    const files = info.files.map((f) => f.path.split(path.sep).join('/')).sort();
    for (const need of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/boot.js']) expect(files, need).toContain(need);
    const stray = files.filter((f) => (f.startsWith('dist/') ? !/\.(js|d\.ts)$/.test(f) : !ALLOWED_OUTSIDE_DIST.has(f)));
    expect(stray, 'files a user does not need (the demo registry, sources, tests, source maps)').toEqual([]);

    // 2. A fresh host project: drizzle-orm and better-sqlite3 as a user lists them, stores from the tarball.
    const host = path.join(t, 'host');
    fs.mkdirSync(path.join(host, 'node_modules'), { recursive: true });
    const installed = (name: string) => `^${(JSON.parse(fs.readFileSync(path.join(NM, name, 'package.json'), 'utf8')) as { version: string }).version}`;
    const manifest = {
      name: 'host',
      version: '1.0.0',
      private: true,
      type: 'module',
      dependencies: { stores: `file:../${info.filename}`, 'better-sqlite3': installed('better-sqlite3'), 'drizzle-orm': installed('drizzle-orm') },
      devDependencies: { '@types/better-sqlite3': installed('@types/better-sqlite3'), '@types/node': installed('@types/node') },
    };
    fs.writeFileSync(path.join(host, 'package.json'), JSON.stringify(manifest, null, 2));
    const ours = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const seed = closure(['better-sqlite3', 'drizzle-orm', '@types/better-sqlite3', '@types/node', ...Object.keys(ours.dependencies)]);
    for (const dir of seed) fs.cpSync(path.join(NM, dir), path.join(host, 'node_modules', dir), { recursive: true });
    const install = run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock'], host);
    expect(install.code, `${install.stdout}${install.stderr}`).toBe(0);
    expect(fs.existsSync(path.join(host, 'node_modules', 'stores', 'dist', 'index.js'))).toBe(true);
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
    const bin = run(process.execPath, [path.join(host, 'node_modules', 'stores', 'dist', 'cli', 'main.js'), '--version'], host);
    expect(bin.code, bin.stderr).toBe(0);
    expect(bin.stdout.trim()).toBe(version);
    expect(fs.existsSync(path.join(host, 'node_modules', '.bin', process.platform === 'win32' ? 'stores.cmd' : 'stores'))).toBe(true);
  });
});
