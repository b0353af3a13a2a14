/**
 * Fleets: discovery edge cases, report counts over a few hundred data dirs in mixed states,
 * worker failures isolated, the progress bar only on a terminal.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkFleet, reconcileFleet } from '../src/api.js';
import { discover } from '../src/fleet/discover.js';
import type { Registry } from '../src/types.js';
import type { Report } from '../src/report.js';
import { buildFleet, longRun, writeHugeForeignFile } from './fleet-builder.js';
import { CLI, ROOT, STORES, cli, fingerprint, registry, store, tmpDir, unprivilegedCli, userVersion, writeAt } from './helpers.js';

let reg: Registry;
beforeAll(async () => {
  reg = await registry();
});

describe('discovery', () => {
  it('finds data dirs at any depth, sorted, never through symlinks or by backups and companions', () => {
    const root = tmpDir();
    const outside = tmpDir();
    const mk = (rel: string, files: string[]) => {
      fs.mkdirSync(path.join(root, rel), { recursive: true });
      for (const f of files) fs.writeFileSync(path.join(root, rel, f), '');
    };
    mk('b/1.5.0/shard-001', ['objects.db']);
    mk('b/1.5.0/shard-000', ['sagas.db', 'sagas.db-wal']);
    mk('a', ['filestore.db']);
    mk('a/nested/deeper/still', ['objects.db']);
    mk('only-backups', ['objects.db.backup-20260101T000000000Z', 'objects.db-wal', 'objects.db-shm', 'objects.db-journal', '.objects.db.stores-new-1-x']);
    mk('empty', []);
    fs.mkdirSync(path.join(outside, 'elsewhere'));
    fs.writeFileSync(path.join(outside, 'elsewhere', 'objects.db'), '');
    fs.symlinkSync(path.join(outside, 'elsewhere'), path.join(root, 'link-to-outside'));
    fs.symlinkSync(path.join(outside, 'elsewhere', 'objects.db'), path.join(root, 'empty', 'objects.db'));
    fs.symlinkSync(root, path.join(root, 'a', 'loop'));
    expect([...discover(reg, root)].map((d) => path.relative(root, d))).toEqual(['a', 'a/nested/deeper/still', 'b/1.5.0/shard-000', 'b/1.5.0/shard-001']);
  });

  it('an empty root yields nothing; an unreadable directory is reported and skipped', () => {
    expect([...discover(reg, tmpDir())]).toEqual([]);
    const problems: string[] = [];
    expect([...discover(reg, path.join(tmpDir(), 'gone'), (p) => problems.push(p.message))]).toEqual([]);
    expect(problems[0]).toMatch(/ENOENT/);
  });

  it('an unreadable directory (as a non-root user) is skipped with a message; the rest is checked', (ctx) => {
    const asUser = unprivilegedCli();
    if (asUser.skip) return ctx.skip(asUser.skip);
    const base = fs.mkdtempSync('/tmp/stores-perm-');
    try {
      fs.chmodSync(base, 0o755);
      const root = path.join(base, 'root');
      writeAt(store(reg, 'sagas'), path.join(root, 'ok', 'sagas.db'), 1);
      writeAt(store(reg, 'sagas'), path.join(root, 'locked-away', 'inner', 'sagas.db'), 1);
      fs.chmodSync(path.join(root, 'locked-away'), 0o000);
      const [cmd, ...args] = [...asUser.argv, 'check', '--root', root, '--stores', asUser.stores];
      const r = spawnSync(cmd!, args, { cwd: base, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      expect(r.stderr).toMatch(/skipped .*locked-away.*EACCES/);
      expect(r.stdout).toMatch(/ok/);
      expect(r.status).toBe(3);
    } finally {
      fs.chmodSync(path.join(base, 'root', 'locked-away'), 0o755);
      fs.rmSync(base, { recursive: true, force: true });
    }
  });
});

describe('a fleet of 300 data dirs in mixed states', () => {
  it('check counts every status; up reconciles what it can in parallel; check again', async () => {
    const root = path.join(tmpDir(), 'data');
    const fleet = buildFleet(reg, root, 300);
    const r1 = cli(['check', '--root', root, '--json', '--concurrency', '2']);
    expect(r1.code).toBe(4);
    const check1 = JSON.parse(r1.stdout) as Report;
    expect(check1.summary).toEqual({ dirs: 300, stores: 900, byStatus: fleet.byStatus });
    expect(check1.dirs.map((d) => d.path)).toEqual(fleet.dirs);

    const r2 = cli(['up', '--root', root, '--json']);
    expect(r2.code).toBe(4);
    const up = JSON.parse(r2.stdout) as Report;
    expect(up.summary.byAction).toEqual({ unchanged: 600 + 30, migrated: 30, adopted: 30, created: 30, initialized: 30, refused: 150 });

    const check2 = await checkFleet(reg, [root]);
    expect(check2.summary.byStatus).toEqual({ current: 750, 'too-new': 30, drift: 30, corrupt: 30, conflict: 30, foreign: 30 });
  });

  it('the library runs the same engine in this thread for a registry built in code, with progress events', async () => {
    const root = path.join(tmpDir(), 'data');
    buildFleet(reg, root, 20);
    const codeReg: Registry = { ...reg, source: 'code' };
    const seen: number[] = [];
    const report = await reconcileFleet(codeReg, [root], { onProgress: (p) => seen.push(p.storesDone) });
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => (i + 1) * 3));
    expect(report.summary.byAction?.refused).toBe(10);
  });
});

/** A copy of the shipped registry whose v3 step, in JavaScript, kills its worker thread in a data dir named *poison*. */
function poisonedStores(): string {
  const stores = path.join(tmpDir(), 'stores');
  fs.cpSync(STORES, stores, { recursive: true });
  fs.rmSync(path.join(stores, 'objects/migrations/003-agent-definitions-user-hidden.sql'));
  fs.writeFileSync(
    path.join(stores, 'objects/migrations/003-user-hidden.mjs'),
    `export default function (db) {\n  if (db.name.includes('poison')) process.exit(7);\n  db.exec('ALTER TABLE db_agent_definitions ADD COLUMN user_hidden INTEGER NOT NULL DEFAULT 0');\n}\n`,
  );
  return stores;
}

describe('worker failures', () => {
  it('a worker that dies fails only its own data dir; the others are reconciled', () => {
    const stores = poisonedStores();
    const root = tmpDir();
    for (const d of ['a', 'b', 'poison', 'c', 'd']) writeAt(store(reg, 'objects'), path.join(root, d, 'objects.db'), 2);
    const r = cli(['up', '--root', root, '--stores', stores, '--json', '--concurrency', '2']);
    expect(r.code).toBe(4);
    const report = JSON.parse(r.stdout) as Report;
    const objects = report.dirs.map((d) => [path.basename(d.path), d.stores.find((s) => s.name === 'objects')!.action]);
    expect(objects).toEqual([
      ['a', 'migrated'],
      ['b', 'migrated'],
      ['c', 'migrated'],
      ['d', 'migrated'],
      ['poison', 'refused'],
    ]);
    const poison = report.dirs.find((d) => d.path.endsWith('poison'))!.stores.find((s) => s.name === 'objects')!;
    expect(poison).toMatchObject({ status: 'error' });
    expect(poison.message).toMatch(/worker .* failed/);
  });
});

describe('worker failures: the stores a dying worker committed', () => {
  it('are reported as committed; the store it died on as an error; the rest as not reached, untouched', () => {
    const stores = poisonedStores();
    const root = tmpDir();
    for (const d of ['a', 'poison']) writeAt(store(reg, 'objects'), path.join(root, d, 'objects.db'), 2);
    // In registry order: filestore (missing: created and committed), objects (the worker dies), sagas.
    const r = cli(['up', '--root', root, '--stores', stores, '--json', '--concurrency', '2']);
    expect(r.code).toBe(4);
    const poison = (JSON.parse(r.stdout) as Report).dirs.find((d) => d.path.endsWith('poison'))!;
    expect(poison.stores.map((s) => [s.name, s.status, s.action])).toEqual([
      ['filestore', 'missing', 'created'],
      ['objects', 'error', 'refused'],
      ['sagas', 'missing', 'unchanged'],
    ]);
    expect(poison.stores[1]!.message).toMatch(/worker .* failed/);
    expect(poison.stores[2]!.message).toMatch(/^not reached: the worker handling this data dir failed on objects before this store/);
    expect(userVersion(path.join(poison.path, 'filestore.db'))).toBe(1);
    expect(userVersion(path.join(poison.path, 'objects.db'))).toBe(2);
    expect(fs.existsSync(path.join(poison.path, 'sagas.db'))).toBe(false);
  });
});

describe('worker failures: the data dirs queued behind a dying worker', () => {
  it('are handed to its replacement and reconciled', () => {
    const stores = poisonedStores();
    const root = tmpDir();
    // Sorted first, each poisoned dir is the first task of a worker, with another queued behind it.
    const names = ['0-poison', '1-poison', 'a', 'b', 'c', 'd', 'e', 'f'];
    for (const d of names) writeAt(store(reg, 'objects'), path.join(root, d, 'objects.db'), 2);
    const r = cli(['up', '--root', root, '--stores', stores, '--json', '--concurrency', '2']);
    expect(r.code).toBe(4);
    const report = JSON.parse(r.stdout) as Report;
    const actions = Object.fromEntries(report.dirs.map((d) => [path.basename(d.path), d.stores.find((s) => s.name === 'objects')!.action]));
    expect(actions).toEqual({ '0-poison': 'refused', '1-poison': 'refused', a: 'migrated', b: 'migrated', c: 'migrated', d: 'migrated', e: 'migrated', f: 'migrated' });
  });
});

describe('the status never depends on --concurrency', () => {
  it('a foreign file whose schema outgrows a worker\'s capped heap is foreign at --concurrency 1 and 2', async () => {
    // A long run (more than 400 data dirs: in a short one the main thread works to the end and
    // may take the big file itself), small dirs first, so that in the library's run the main
    // thread (which then works only while the workers start) is unlikely to take it: it had done
    // 89 to 320 of the 401 small dirs by then. The CLI's main thread works throughout a long run
    // too (shareThisThread), so there the big file may go to either. That a worker takes it and
    // this thread finishes the dir is proved in test/fleet-share.test.ts, which holds this thread
    // until a worker is ready.
    const { root } = longRun();
    const big = path.join(root, 'z-huge', 'objects.db');
    writeHugeForeignFile(big);
    const before = fingerprint(big);
    const foreign = (report: Report) => report.dirs.at(-1)!.stores.find((s) => s.name === 'objects')!;
    const expected = ['foreign', expect.stringMatching(/2000 in all\)\): it belongs to another program/)];
    for (const [command, concurrency] of [['check', '1'], ['check', '2'], ['up', '2'], ['up', '1']] as const) {
      const r = cli([command, '--root', root, '--json', '--concurrency', concurrency]);
      expect(r.code).toBe(4);
      const objects = foreign(JSON.parse(r.stdout) as Report);
      expect([command, concurrency, objects.status, objects.message]).toEqual([command, concurrency, ...expected]);
    }
    // The library's long run (usually) gives the big file to a worker, whose capped heap it outgrows.
    for (const run of [checkFleet, reconcileFleet]) {
      const objects = foreign(await run(reg, [root], { concurrency: 2 }));
      expect([run.name, objects.status, objects.message]).toEqual([run.name, ...expected]);
    }
    expect(fingerprint(big)).toEqual(before);
  }, 180_000);
});

describe('shareThisThread', () => {
  /** A long run, each dir with a current sagas.db. */
  const longRoot = () => longRun((file) => writeAt(store(reg, 'sagas'), file, 1)).root;

  it('in a long run, this thread works beside one worker fewer, with the same report', async () => {
    const root = longRoot();
    let started = 0;
    const count = () => started++;
    process.on('worker', count);
    try {
      const runs: [number, Report][] = [];
      for (const share of [false, true]) {
        started = 0;
        const report = await checkFleet(reg, [root], { concurrency: 2, shareThisThread: share });
        runs.push([started, report]);
      }
      expect(runs.map(([n]) => n)).toEqual([2, 1]);
      expect(runs[1]![1]).toEqual({ ...runs[0]![1], dirs: runs[0]![1].dirs.map((d) => ({ ...d, stores: d.stores.map((st) => ({ ...st, ms: expect.any(Number) })) })) });
      expect(runs[0]![1].summary.byStatus).toEqual({ current: 401, missing: 802 });
    } finally {
      process.off('worker', count);
    }
  }, 120_000);

  it('the CLI sets it: its long run starts one worker fewer than --concurrency', () => {
    const root = longRoot();
    // Each process (the CLI's) counts the worker threads it starts and says so as it exits.
    const counter = path.join(tmpDir(), 'count-workers.cjs');
    fs.writeFileSync(counter, "let n = 0; process.on('worker', () => n++); process.on('exit', () => process.stderr.write(`workers started: ${n}\\n`));\n");
    const r = cli(['check', '--root', root, '--json', '--concurrency', '2'], { env: { NODE_OPTIONS: `--require ${counter}` } });
    expect(r.stderr).toContain('workers started: 1');
    expect((JSON.parse(r.stdout) as Report).summary.byStatus).toEqual({ current: 401, missing: 802 });
  }, 120_000);
});

describe('workers that cannot start', () => {
  it('every data dir reports the cause, quickly, with no endless respawn', async () => {
    // Regression: a worker failing at start-up used to be respawned without end (the
    // process ran out of memory). Here the registry folder vanishes after it was loaded.
    const stores = path.join(tmpDir(), 'stores');
    fs.cpSync(STORES, stores, { recursive: true });
    // A JavaScript step makes the workers load the registry from its folder (functions cannot
    // cross threads; a registry of SQL only is handed over as data).
    fs.rmSync(path.join(stores, 'objects/migrations/003-agent-definitions-user-hidden.sql'));
    fs.writeFileSync(path.join(stores, 'objects/migrations/003-user-hidden.mjs'), "export default (db) => db.exec('ALTER TABLE db_agent_definitions ADD COLUMN user_hidden INTEGER NOT NULL DEFAULT 0');\n");
    const { loadRegistry } = await import('../src/api.js');
    const gone = await loadRegistry(stores);
    fs.rmSync(stores, { recursive: true });
    const root = path.join(tmpDir(), 'data');
    buildFleet(reg, root, 12);
    const t0 = Date.now();
    const report = await checkFleet(gone, [root], { concurrency: 2 });
    expect(Date.now() - t0).toBeLessThan(20_000);
    const all = report.dirs.flatMap((d) => d.stores);
    expect(all).toHaveLength(36);
    expect(all.every((s) => s.status === 'error' && /worker/.test(s.message))).toBe(true);
  });
});

describe('progress bar', () => {
  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.skipIf(!hasScript)('is drawn on stderr only when it is a terminal, and never with --json', () => {
    const root = path.join(tmpDir(), 'data');
    buildFleet(reg, root, 30);
    const run = (extra: string) =>
      spawnSync('script', ['-qec', `${process.execPath} ${CLI} check --root ${root} ${extra} 2>&1 >/dev/null`, '/dev/null'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } }).stdout;
    expect(run('')).toMatch(/check \[[#.]+\] \d+\/90 files/);
    expect(run('--json')).not.toMatch(/files/);
    const plain = cli(['check', '--root', root]);
    expect(plain.stderr).not.toMatch(/files/);
  });
});

describe('leftovers of interrupted runs', () => {
  it('partial backups and files being created are reported, never taken for stores', () => {
    const root = tmpDir();
    const dir = path.join(root, 'd');
    writeAt(store(reg, 'sagas'), path.join(dir, 'sagas.db'), 1);
    fs.writeFileSync(path.join(dir, 'objects.db.backup-20260101T000000000Z.partial'), 'half');
    fs.writeFileSync(path.join(dir, '.filestore.db.stores-new-123-abc'), 'half');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not ours');
    const r = cli(['check', '--root', root, '--json']);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.dirs).toHaveLength(1);
    expect(report.dirs[0]!.leftovers).toEqual(['.filestore.db.stores-new-123-abc', 'objects.db.backup-20260101T000000000Z.partial']);
    expect(report.dirs[0]!.stores.map((s) => s.status)).toEqual(['missing', 'missing', 'current']);
    expect(cli(['check', '--root', root]).stdout).toMatch(/Leftovers of interrupted runs[\s\S]*objects\.db\.backup-20260101T000000000Z\.partial/);
  });
});
