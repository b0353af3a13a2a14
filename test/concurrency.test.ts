/**
 * Several processes reconcile the same data dirs at once: all succeed, each change is applied
 * exactly once, the others wait and find the stores current.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '../src/types.js';
import type { Report } from '../src/report.js';
import { CLI, OBJECTS_ROWS_V1, ROOT, query, registry, store, storesFile, tmpDir, userVersion, writeAt, writeSql } from './helpers.js';

let reg: Registry;
beforeAll(async () => {
  reg = await registry();
});

/** Runs node with `args`, resolving with its exit code and its stdout parsed as JSON. */
function spawnJson<T>(args: string[]): Promise<{ code: number; report: T }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve({ code: code ?? -1, report: JSON.parse(out) as T });
      } catch {
        reject(new Error(`exit ${code}; stdout ${out.slice(0, 500)}; stderr ${err.slice(0, 1500)}`));
      }
    });
  });
}

function runUp(root: string): Promise<{ code: number; report: Report }> {
  return spawnJson<Report>([CLI, 'up', '--root', root, '--json']);
}

/** A process that boots every data dir under `root` with openStores, like a host would. */
function runBoot(root: string): Promise<{ code: number; report: { dir: string; stores: { name: string; action: string }[] }[] }> {
  const script = `
    import fs from 'node:fs';
    import path from 'node:path';
    import { loadRegistry, openStores, discover } from ${JSON.stringify(path.join(ROOT, 'dist/bundle/index.js'))};
    const registry = await loadRegistry(${JSON.stringify(path.join(ROOT, 'stores'))});
    const out = [];
    for (const dir of [...discover(registry, process.argv[1])].sort()) {
      const s = await openStores(registry, dir);
      out.push({ dir, stores: s.report.map((r) => ({ name: r.name, action: r.action })) });
      s.db.objects.prepare('SELECT count(*) FROM db_agents').get();
      await s.close();
    }
    process.stdout.write(JSON.stringify(out));`.replace("const s = await openStores(registry, dir);", "let s; try { s = await openStores(registry, dir); } catch (e) { console.error(e.stack); throw e; }");
  return spawnJson(['--input-type=module', '-e', script, root]);
}

describe('concurrent boots: CLI and openStores processes together', () => {
  it('two `stores up` and two host processes booting the same data dirs: all succeed, each change once', async () => {
    const root = tmpDir();
    const objects = store(reg, 'objects');
    for (let i = 0; i < 3; i++) writeAt(objects, path.join(root, `behind-${i}`, 'objects.db'), 1 + i, OBJECTS_ROWS_V1);
    for (let i = 0; i < 2; i++) writeSql(path.join(root, `legacy-${i}`, 'objects.db'), storesFile('objects/legacy/forge-era.sql'));
    const [a, b, c, d] = await Promise.all([runUp(root), runBoot(root), runUp(root), runBoot(root)]);
    expect([a.code, b.code, c.code, d.code]).toEqual([0, 0, 0, 0]);
    const dirs = a.report.dirs.map((x) => x.path);
    for (const [di, dir] of dirs.entries()) {
      for (const [si, s] of reg.stores.entries()) {
        const actions = [a.report.dirs[di]!.stores[si]!.action, c.report.dirs[di]!.stores[si]!.action, b.report[di]!.stores[si]!.action, d.report[di]!.stores[si]!.action];
        expect(actions.filter((x) => x !== 'unchanged'), `${dir}/${s.file}: ${actions.join(', ')}`).toHaveLength(1);
      }
      const f = path.join(dir, 'objects.db');
      expect(userVersion(f)).toBe(4);
      const defs = query<{ n: number }>(f, 'SELECT count(*) AS n FROM db_agent_definitions')[0]!.n;
      expect(query<{ n: number }>(f, 'SELECT count(*) AS n FROM db_agents')[0]!.n).toBe(defs);
    }
  });
});

describe('concurrent up', () => {
  it('four processes on the same fleet: all exit 0, every change applied once', async () => {
    const root = tmpDir();
    const objects = store(reg, 'objects');
    for (let i = 0; i < 3; i++) writeAt(objects, path.join(root, `behind-${i}`, 'objects.db'), 1 + i, OBJECTS_ROWS_V1);
    for (let i = 0; i < 2; i++) writeSql(path.join(root, `legacy-${i}`, 'objects.db'), storesFile('objects/legacy/forge-era.sql'));
    fs.mkdirSync(path.join(root, 'fresh'));
    fs.writeFileSync(path.join(root, 'fresh', 'sagas.db'), '');

    const runs = await Promise.all([runUp(root), runUp(root), runUp(root), runUp(root)]);
    const refused = runs.flatMap((r) => r.report.dirs.flatMap((d) => d.stores.filter((s) => s.action === 'refused').map((s) => `${s.file}: ${s.status}: ${s.message}`)));
    expect(refused).toEqual([]);
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0]);

    // For each store file, exactly one process changed it; the others found it current.
    const dirs = runs[0]!.report.dirs.map((d) => d.path);
    for (const [di, dir] of dirs.entries()) {
      for (const [si, s] of reg.stores.entries()) {
        const actions = runs.map((r) => r.report.dirs[di]!.stores[si]!.action);
        const changed = actions.filter((a) => a !== 'unchanged');
        expect(changed, `${dir}/${s.file}: ${actions.join(', ')}`).toHaveLength(1);
        expect(userVersion(path.join(dir, s.file))).toBe(s.version);
      }
    }
    // Backfills ran once, seed rows were not duplicated, and at most one backup per legacy file.
    for (const dir of dirs) {
      const f = path.join(dir, 'objects.db');
      const defs = query<{ n: number }>(f, 'SELECT count(*) AS n FROM db_agent_definitions')[0]!.n;
      expect(query<{ n: number }>(f, 'SELECT count(*) AS n FROM db_agents')[0]!.n).toBe(defs);
      expect(query<{ n: number }>(f, "SELECT count(*) AS n FROM db_memory_bundles WHERE id = 'blank'")[0]!.n).toBe(1);
      expect(fs.readdirSync(dir).filter((n) => n.includes('.backup-')).length).toBeLessThanOrEqual(1);
      expect(fs.readdirSync(dir).filter((n) => n.includes('stores-new'))).toEqual([]);
    }
  });
});
