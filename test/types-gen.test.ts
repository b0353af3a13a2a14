/**
 * `stores types`: declarations from the baselines. The generated module types a host under
 * `strict` + `noUncheckedIndexedAccess` (tsc on test/fixtures/typed-types-host); the same schemas
 * give the same bytes; `--check` exits 3 on a stale file and 0 on a fresh one;
 * `loadRegistry(dir, { names })` refuses a registry that is not the one the types describe.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRegistry } from '../src/api.js';
import { RegistryError } from '../src/errors.js';
import { generateTypes } from '../src/types-gen.js';
import { cli, ROOT, tmpDir } from './helpers.js';

const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'typed-types-host');

/** A copy of the fixture host and its registry in a temp dir, with a tsconfig that maps `stores` to the built declarations. */
function hostCopy(): string {
  const dir = tmpDir('stores-types-');
  fs.cpSync(path.join(FIXTURE, 'stores'), path.join(dir, 'stores'), { recursive: true });
  fs.copyFileSync(path.join(FIXTURE, 'host.ts'), path.join(dir, 'host.ts'));
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2022'],
      types: ['node'],
      typeRoots: [path.join(ROOT, 'node_modules', '@types')],
      paths: { stores: [path.join(ROOT, 'dist', 'index.d.ts')] },
      strict: true,
      noUncheckedIndexedAccess: true,
      noEmit: true,
      skipLibCheck: true,
    },
    files: ['host.ts', 'stores.gen.ts'],
  };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  return dir;
}

describe('stores types', () => {
  it('the generated module types a strict, noUncheckedIndexedAccess host end to end (tsc)', () => {
    expect(fs.existsSync(path.join(ROOT, 'dist', 'index.d.ts')), 'run `npx tsc -p .` first').toBe(true);
    const dir = hostCopy();
    const r = cli(['types', '--stores', path.join(dir, 'stores'), '--out', path.join(dir, 'stores.gen.ts')]);
    expect(r.code, r.stderr).toBe(0);
    const t = spawnSync(process.execPath, [TSC, '-p', path.join(dir, 'tsconfig.json')], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    expect(t.status, `${t.stdout}${t.stderr}`).toBe(0);
  });

  it('a host whose expectations the types break does not compile (the check has teeth)', () => {
    const dir = hostCopy();
    expect(cli(['types', '--stores', path.join(dir, 'stores'), '--out', path.join(dir, 'stores.gen.ts')]).code).toBe(0);
    // The status list grows: the exact-type assertion in host.ts must fail.
    const schema = path.join(dir, 'stores', 'shop', 'schema.sql');
    fs.writeFileSync(schema, fs.readFileSync(schema, 'utf8').replace("'gone')", "'gone', 'sold')"));
    expect(cli(['types', '--stores', path.join(dir, 'stores'), '--out', path.join(dir, 'stores.gen.ts')]).code).toBe(0);
    const t = spawnSync(process.execPath, [TSC, '-p', path.join(dir, 'tsconfig.json')], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    expect(t.status).not.toBe(0);
    expect(t.stdout).toMatch(/host\.ts\(\d+,\d+\)/);
  });

  it('same schemas, same bytes; --check: 0 when fresh, 3 when stale, and it writes nothing', () => {
    const dir = hostCopy();
    const stores = path.join(dir, 'stores');
    const out = path.join(dir, 'stores.gen.ts');
    expect(cli(['types', '--stores', stores, '--out', out]).code).toBe(0);
    const first = fs.readFileSync(out);
    const again = cli(['types', '--stores', stores, '--out', out]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/up to date; nothing written/);
    expect(fs.readFileSync(out).equals(first)).toBe(true);
    // Stdout gives the same text.
    expect(cli(['types', '--stores', stores]).stdout).toBe(first.toString('utf8'));
    expect(cli(['types', '--stores', stores, '--out', out, '--check']).code).toBe(0);

    const schema = path.join(stores, 'queue', 'schema.sql');
    fs.appendFileSync(schema, '\nCREATE TABLE audit (at INTEGER NOT NULL);\n');
    const stale = cli(['types', '--stores', stores, '--out', out, '--check']);
    expect(stale.code).toBe(3);
    expect(stale.stderr).toMatch(/stale/);
    expect(fs.readFileSync(out).equals(first)).toBe(true);
    // A missing file is stale too; --check without --out is a usage error.
    expect(cli(['types', '--stores', stores, '--out', path.join(dir, 'none.ts'), '--check']).code).toBe(3);
    expect(fs.existsSync(path.join(dir, 'none.ts'))).toBe(false);
    expect(cli(['types', '--stores', stores, '--check']).code).toBe(2);
    expect(cli(['types', '--stores', stores, '--out', out]).code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toMatch(/export interface QueueAuditRow \{\n {2}\/\*\* INTEGER NOT NULL \*\/\n {2}at: number;\n\}/);
  });

  it('loadRegistry with names: typed when they match, a RegistryError naming the difference when not', async () => {
    const stores = path.join(FIXTURE, 'stores');
    const reg = await loadRegistry(stores, { names: ['queue', 'shop'] });
    expect(reg.stores.map((s) => s.name)).toEqual(['queue', 'shop']);
    const err = await loadRegistry(stores, { names: ['queue', 'shop', 'jobs'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as Error).message).toMatch(/missing: jobs.*stale/);
    const err2 = await loadRegistry(stores, { names: ['shop'] }).catch((e: unknown) => e);
    expect((err2 as Error).message).toMatch(/not in the types: queue/);
  });

  it('unions come from what SQLite lets the column hold: affinity applied, values the CHECK refuses left out', async () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 's'));
    fs.writeFileSync(path.join(dir, 's', 'store.json'), JSON.stringify({ file: 's.db', version: 1 }));
    // An INTEGER column stores '2' as 2, and the IN list is compared under the column's affinity;
    // a TEXT column stores 1 as '1'. Both asked of SQLite below, not assumed.
    fs.writeFileSync(
      path.join(dir, 's', 'schema.sql'),
      "CREATE TABLE t (n INTEGER NOT NULL CHECK (n IN ('1', '2')), s TEXT NOT NULL CHECK (s IN (1, 'x')), z TEXT NOT NULL CHECK (z IN ('a', 'b') AND z IN ('b', 'c')));",
    );
    const text = generateTypes(await loadRegistry(dir));
    const db = (await import('better-sqlite3')).default;
    const probe = new db(':memory:');
    probe.exec("CREATE TABLE t (n INTEGER, s TEXT); INSERT INTO t VALUES ('2', 1)");
    const stored = probe.prepare('SELECT typeof(n) AS n, typeof(s) AS s, n IN (\'1\', \'2\') AS nok, s IN (1, \'x\') AS sok FROM t').get() as Record<string, unknown>;
    probe.close();
    // What SQLite does, asked above; the types must say the same.
    expect(stored).toEqual({ n: 'integer', s: 'text', nok: 1, sok: 1 });
    expect(text).toMatch(/ {2}n: 1 \| 2;/);
    expect(text).toMatch(/ {2}s: "1" \| "x";/);
    expect(text).toMatch(/ {2}z: "b";/);
  });
});
