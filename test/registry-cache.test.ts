/**
 * The registry cache (src/registry-cache.ts): a cached load is the registry a fresh load
 * validates, any change to the folder is validated again, and nothing unsafe or unfit is used.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { loadRegistry } from '../src/index.js';
import { RegistryError } from '../src/errors.js';
import { STORES, cli, tmpDir } from './helpers.js';

const copyStores = (): string => {
  const dir = path.join(tmpDir(), 'stores');
  fs.cpSync(STORES, dir, { recursive: true });
  return dir;
};
const entries = (cache: string): string[] => (fs.existsSync(cache) ? fs.readdirSync(cache).filter((f) => f.endsWith('.v8')) : []);

describe('the registry cache', () => {
  it('a load from the cache is the registry a fresh load validates, and is taken from the entry', async () => {
    const stores = copyStores();
    const cache = path.join(tmpDir(), 'cache');
    const fresh = await loadRegistry(stores);
    expect(await loadRegistry(stores, { cache })).toEqual(fresh);
    expect(entries(cache)).toHaveLength(1);
    expect(fs.statSync(cache).mode & 0o777).toBe(0o700);
    const cached = await loadRegistry(stores, { cache });
    expect(cached).toEqual(fresh);
    // The entry is what the second load returned: marked, the mark comes back.
    const file = path.join(cache, entries(cache)[0]!);
    const entry = v8.deserialize(fs.readFileSync(file)) as { registry: { stores: { version: number }[] } };
    entry.registry.stores[0]!.version = 99;
    fs.writeFileSync(file, v8.serialize(entry));
    expect((await loadRegistry(stores, { cache })).stores[0]!.version).toBe(99);
  });

  it('any change to the folder is validated again, under another key', async () => {
    const stores = copyStores();
    const cache = path.join(tmpDir(), 'cache');
    await loadRegistry(stores, { cache });
    fs.appendFileSync(path.join(stores, 'sagas', 'schema.sql'), '\nCREATE TABLE cache_probe (id INTEGER PRIMARY KEY);\n');
    const changed = await loadRegistry(stores, { cache });
    expect(changed.stores.find((s) => s.name === 'sagas')!.expect.baselineMaster.map((r) => r.name)).toContain('cache_probe');
    expect(entries(cache)).toHaveLength(2);
    // A change that breaks the registry is reported, cache or not, and nothing is written for it.
    fs.appendFileSync(path.join(stores, 'sagas', 'schema.sql'), '\nCREATE TABLE broken (;\n');
    await expect(loadRegistry(stores, { cache })).rejects.toThrow(RegistryError);
    expect(entries(cache)).toHaveLength(2);
  });

  it('a corrupt entry is ignored; a cache folder open to others is not used', async () => {
    const stores = copyStores();
    const cache = path.join(tmpDir(), 'cache');
    const fresh = await loadRegistry(stores, { cache });
    fs.writeFileSync(path.join(cache, entries(cache)[0]!), 'not a registry');
    expect(await loadRegistry(stores, { cache })).toEqual(fresh);
    const open = path.join(tmpDir(), 'open');
    fs.mkdirSync(open, { mode: 0o777 });
    fs.chmodSync(open, 0o777);
    expect(await loadRegistry(stores, { cache: open })).toEqual(fresh);
    expect(entries(open)).toEqual([]);
  });

  it('what a killed writer left is removed an hour on; the newest 32 entries are kept', async () => {
    const stores = copyStores();
    const cache = path.join(tmpDir(), 'cache');
    fs.mkdirSync(cache, { mode: 0o700 });
    const tmpName = (c: string) => `.${c.repeat(64)}.123.0123abcd.tmp`;
    fs.writeFileSync(path.join(cache, tmpName('a')), 'half');
    fs.writeFileSync(path.join(cache, tmpName('b')), 'half');
    const old = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(path.join(cache, tmpName('a')), old, old);
    const fakes = Array.from({ length: 33 }, (_, i) => `${crypto.createHash('sha256').update(String(i)).digest('hex')}.v8`);
    fakes.forEach((f, i) => {
      fs.writeFileSync(path.join(cache, f), 'x');
      const t = new Date(Date.now() - (60 + i) * 1000); // fakes[32] is the oldest
      fs.utimesSync(path.join(cache, f), t, t);
    });
    const fresh = await loadRegistry(stores, { cache });
    expect(fs.existsSync(path.join(cache, tmpName('a')))).toBe(false);
    expect(fs.existsSync(path.join(cache, tmpName('b')))).toBe(true);
    const left = entries(cache);
    expect(left).toHaveLength(32);
    expect(left).not.toContain(fakes[32]);
    expect(left).not.toContain(fakes[31]);
    expect(left.filter((f) => !fakes.includes(f))).toHaveLength(1); // its own entry, the newest, was kept
    expect(fresh.stores.length).toBeGreaterThan(0);
  });

  it('a registry with a JavaScript step is never cached', async () => {
    const stores = copyStores();
    fs.rmSync(path.join(stores, 'objects/migrations/003-agent-definitions-user-hidden.sql'));
    fs.writeFileSync(path.join(stores, 'objects/migrations/003-user-hidden.mjs'), `export default function (db) {\n  db.exec('ALTER TABLE db_agent_definitions ADD COLUMN user_hidden INTEGER NOT NULL DEFAULT 0');\n}\n`);
    const cache = path.join(tmpDir(), 'cache');
    const r = await loadRegistry(stores, { cache });
    expect(r.stores.find((s) => s.name === 'objects')!.migrations.some((m) => typeof m.run === 'function')).toBe(true);
    expect(entries(cache)).toEqual([]);
  });

  it('the CLI caches only when asked: not by default (nothing written outside the named dirs), STORES_CACHE=1 in the user\'s cache folder, STORES_CACHE=DIR there', () => {
    const stores = copyStores();
    const root = tmpDir();
    const cache = path.join(tmpDir(), 'cache');
    const xdg = path.join(tmpDir(), 'xdg');
    for (const off of [undefined, '', '0']) {
      expect(cli(['check', '--root', root, '--stores', stores, '--json'], { env: { STORES_CACHE: off, XDG_CACHE_HOME: xdg } }).code).toBe(0);
      expect(fs.existsSync(path.join(xdg, 'stores'))).toBe(false);
    }
    expect(cli(['check', '--root', root, '--stores', stores, '--json'], { env: { STORES_CACHE: cache } }).code).toBe(0);
    expect(entries(cache)).toHaveLength(1);
    const again = cli(['check', '--root', root, '--stores', stores, '--json'], { env: { STORES_CACHE: cache } });
    expect(again.code).toBe(0);
    expect(entries(cache)).toHaveLength(1);
    // 1: the user's cache folder, under $XDG_CACHE_HOME.
    expect(cli(['check', '--root', root, '--stores', stores, '--json'], { env: { STORES_CACHE: '1', XDG_CACHE_HOME: xdg } }).code).toBe(0);
    expect(entries(path.join(xdg, 'stores'))).toHaveLength(1);
  });
});
