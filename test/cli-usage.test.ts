/**
 * The CLI as a new user types it: flags in any order, --version, mistyped commands, --stores at
 * the wrong folder, `up` on a new or mistyped data dir, --no-create; and openStores'
 * `create: false`, which means the same.
 *
 * Run `npx tsc -p .` first: these tests spawn the built CLI.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openStores } from '../src/boot.js';
import { MissingStoresError } from '../src/errors.js';
import { loadRegistry } from '../src/api.js';
import type { Registry } from '../src/types.js';
import { CLI, ROOT, STORES, cli, fingerprint, registry, store, tmpDir, writeAt } from './helpers.js';

let reg: Registry;
beforeAll(async () => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npx tsc -p .\` before these tests`);
  reg = await registry();
});

const FILES = ['filestore.db', 'objects.db', 'sagas.db'];

function listing(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

/** A data dir `up` made current. */
function upDir(d: string): string {
  const r = cli(['up', d, '--stores', STORES]);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return d;
}

function jsonDirs(stdout: string): string[] {
  return (JSON.parse(stdout) as { dirs: { path: string }[] }).dirs.map((d) => d.path);
}

describe('one value per array option; order never changes the meaning', () => {
  it('up --root data data/1.6.0 creates data/1.6.0 (and so does the other order)', () => {
    const t = tmpDir();
    const data = path.join(t, 'data');
    upDir(path.join(data, '1.5.0'));
    for (const args of [
      ['up', '--root', data, path.join(data, '1.6.0')],
      ['up', path.join(data, '1.7.0'), '--root', data],
      [`--root=${data}`, 'up', path.join(data, '1.8.0')],
    ]) {
      const r = cli(args);
      expect(r.code, `${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
    }
    for (const v of ['1.6.0', '1.7.0', '1.8.0']) expect(listing(path.join(data, v)), v).toEqual(FILES);
  });

  it('--dirs (the positional\'s name) is a usage error naming the way to give data dirs, not an unexpected failure', () => {
    const d = upDir(path.join(tmpDir(), 'd'));
    for (const command of ['check', 'up', 'clean']) {
      const r = cli([command, '--dirs', d, '--json']);
      expect(r.code, `${command}: ${r.stdout}${r.stderr}`).toBe(2);
      const e = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
      expect(e.code, command).toBe('USAGE');
      expect(e.message, command).toMatch(/--dirs is not an option: name the data dirs after the command/);
    }
    expect(listing(d)).toEqual(FILES);
  });

  it('--concurrency that is not a whole number ≥ 1 is a usage error quoting what was typed', () => {
    const d = upDir(path.join(tmpDir(), 'd'));
    for (const [given, shown] of [[['--concurrency', 'x'], '"x"'], [['--concurrency=0'], '"0"'], [['--concurrency', '2.5'], '"2.5"']] as const) {
      const r = cli(['check', d, ...given, '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      const e = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
      expect(e.message).toBe(`--concurrency takes a whole number ≥ 1, got ${shown}`);
    }
  });

  it('check --root a b audits b as a data dir, not as a second root', () => {
    const t = tmpDir();
    const a = upDir(path.join(t, 'a', 'x'));
    const b = upDir(path.join(t, 'b'));
    // b/deeper is under b: were b a root, it would be audited too.
    const deeper = upDir(path.join(b, 'deeper'));
    const r = cli(['check', '--root', path.join(t, 'a'), b, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(jsonDirs(r.stdout)).toEqual([a, b].sort());
    expect(jsonDirs(r.stdout)).not.toContain(deeper);
    // Repeated --root flags, = and space forms: both roots.
    const two = cli(['check', `--root=${path.join(t, 'a')}`, '--root', b, '--json']);
    expect(two.code, two.stderr).toBe(0);
    expect(jsonDirs(two.stdout)).toEqual([a, b, deeper].sort());
  });

  it('--root without a value and a single-value option given twice are usage errors', () => {
    const r = cli(['check', '--root']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/root/);
    const twice = cli(['check', tmpDir(), '--stores', STORES, '--stores', STORES]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/--stores is given 2 times/);
  });
});

describe('--version', () => {
  it('--version and -v print the version of package.json, exit 0', () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const r = cli([flag]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(version);
    }
  });
});

describe('a mistyped command', () => {
  it('names it and suggests the closest command, exit 2', () => {
    const r = cli(['chek', '--root', 'data']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'chek'; did you mean 'check'\?/);
    expect(r.stderr).not.toMatch(/Unknown arguments/);
    expect(cli(['--root', 'data', 'udp']).stderr).toMatch(/unknown command 'udp'; did you mean 'up'\?/);
    expect(cli(['frobnicate']).stderr).toMatch(/unknown command 'frobnicate'; the commands are up, check/);
    // `help` is not mistaken for a command.
    const help = cli(['help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Commands:/);
    const j = cli(['verfiy', '--json']);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout).error.message).toMatch(/did you mean 'verify'/);
  });
});

describe('registry messages', () => {
  it('--stores at one store folder says it is a store folder and the registry is its parent', () => {
    const r = cli(['check', tmpDir(), '--stores', path.join(STORES, 'objects')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/this is the folder of one store \(objects: it holds store\.json\); the registry is its parent folder, /);
    expect(r.stderr).toContain(`pass --stores ${STORES}`);
    expect(r.stderr).not.toMatch(/no store folder here/);
  });

  it('the library speaks library: loadRegistry names no CLI flag; the CLI adds its own', async () => {
    const missing = path.join(tmpDir(), 'nope');
    await expect(loadRegistry(missing)).rejects.toThrow(/no registry folder here/);
    await expect(loadRegistry(missing)).rejects.not.toThrow(/--stores/);
    await expect(loadRegistry(path.join(STORES, 'objects'))).rejects.not.toThrow(/--stores/);
    const file = path.join(tmpDir(), 'file');
    fs.writeFileSync(file, '');
    await expect(loadRegistry(file)).rejects.not.toThrow(/--stores/);
    const r = cli(['check', tmpDir(), '--stores', missing]);
    expect(r.stderr).toMatch(/no registry folder here.*; pass --stores PATH/);
  });
});

describe('up on a data dir that does not exist', () => {
  it('creates it and says so in the human output', () => {
    const d = path.join(tmpDir(), 'data', '1.6.0');
    const r = cli(['up', d]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`created data dir ${d}`);
    expect(listing(d)).toEqual(FILES);
    // Not on a dir that was there already.
    expect(cli(['up', d]).stdout).not.toMatch(/created data dir/);
    // A dry run says what it would do, and does not.
    const later = path.join(path.dirname(d), '1.7.0');
    const dry = cli(['up', later, '--dry-run']);
    expect(dry.code).toBe(3);
    expect(dry.stdout).toContain(`would create data dir ${later}`);
    expect(fs.existsSync(later)).toBe(false);
  });

  it('--no-create creates nothing, reports every missing store, exit 3', () => {
    const d = path.join(tmpDir(), 'typo');
    const r = cli(['up', d, '--no-create']);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(fs.existsSync(d)).toBe(false);
    expect(r.stderr).toContain(`no data dir ${d}; nothing created (--no-create)`);
    const j = cli(['up', d, '--no-create', '--json']);
    expect(j.code).toBe(3);
    const stores = (JSON.parse(j.stdout) as { dirs: { stores: { name: string; status: string; action: string }[] }[] }).dirs[0]!.stores;
    expect(stores.map((s) => [s.name, s.status, s.action])).toEqual([
      ['filestore', 'missing', 'unchanged'],
      ['objects', 'missing', 'unchanged'],
      ['sagas', 'missing', 'unchanged'],
    ]);
    expect(fs.existsSync(d)).toBe(false);
  });

  it('--no-create on an existing dir migrates what is there and leaves the missing store missing (exit 3)', () => {
    const d = path.join(tmpDir(), 'data');
    writeAt(store(reg, 'objects'), path.join(d, 'objects.db'), 2);
    const r = cli(['up', d, '--no-create']);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(listing(d).filter((f) => f.endsWith('.db'))).toEqual(['objects.db']);
    expect(r.stdout).toMatch(/objects .*migrated/);
    // Once every store is there, --no-create exits 0.
    upDir(d);
    expect(cli(['up', d, '--no-create']).code).toBe(0);
  });
});

describe('openStores({ create: false })', () => {
  it('on a missing data dir: creates nothing and names every missing store', async () => {
    const d = path.join(tmpDir(), 'absent');
    const err = await openStores(reg, d, { create: false }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MissingStoresError);
    const m = err as MissingStoresError;
    expect(m.code).toBe('STORES_MISSING');
    expect(m.missing.map((x) => x.store)).toEqual(['filestore', 'objects', 'sagas']);
    expect(m.message).toContain(`no data dir ${d}`);
    expect(m.message).not.toMatch(/--/);
    expect(fs.existsSync(d)).toBe(false);
  });

  it('on a dir missing one store: creates nothing, changes no byte of the others', async () => {
    const d = path.join(tmpDir(), 'data');
    writeAt(store(reg, 'objects'), path.join(d, 'objects.db'), 2);
    writeAt(store(reg, 'sagas'), path.join(d, 'sagas.db'), 1);
    const before = fingerprint(path.join(d, 'objects.db'));
    await expect(openStores(reg, d, { create: false })).rejects.toThrow(/1 store missing \(.*filestore\.db\)/);
    expect(listing(d)).toEqual(['objects.db', 'sagas.db']);
    expect(fingerprint(path.join(d, 'objects.db'))).toEqual(before);
    // With every store there, create: false opens as usual.
    writeAt(store(reg, 'filestore'), path.join(d, 'filestore.db'), 1);
    const s = await openStores(reg, d, { create: false });
    await s.close();
  });
});
