/**
 * Which data dirs this thread takes in a fleet run beside the workers (src/fleet/run.ts): with
 * shareThisThread, to the end of a long run, not only until the first worker is ready; and a data
 * dir whose file outgrew a worker's capped heap. What this thread took is seen by wrapping
 * runDir, which this thread calls for each data dir it takes (the workers run the compiled module
 * in dist/, not this one).
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { checkFleet, loadRegistry } from '../src/api.js';
import { discardWaitingWorkers, prestartWorkers, WorkerPool } from '../src/fleet/pool.js';
import { createStopFlag, requestStop } from '../src/fleet/run-dir.js';
import { runCli } from '../src/cli/run.js';
import type { Registry } from '../src/types.js';
import { longRun, writeHugeForeignFile } from './fleet-builder.js';
import { cli, fingerprint, registry, store, STORES, tmpDir, writeAt } from './helpers.js';

const here = vi.hoisted(() => ({ dirs: [] as string[], gate: null as Promise<void> | null }));
vi.mock('../src/fleet/run-dir.js', async (importOriginal) => {
  const mod = await importOriginal<typeof import('../src/fleet/run-dir.js')>();
  return {
    ...mod,
    runDir: async (...args: Parameters<typeof mod.runDir>) => {
      here.dirs.push(args[1]);
      if (here.gate) await here.gate;
      return await mod.runDir(...args);
    },
  };
});

let reg: Registry;
beforeAll(async () => {
  reg = await registry();
});

/**
 * Resolves when the next worker thread started says it is ready (or is gone): this thread's
 * first data dir waits for it, so that a worker is ready before this thread could be done with
 * the whole list, however busy the machine.
 */
function nextWorkerReady(): Promise<void> {
  return new Promise((resolve) => {
    const onWorker = (w: Worker) => {
      process.off('worker', onWorker);
      w.on('message', (m: { ready?: boolean }) => {
        if (m.ready) resolve();
      });
      w.once('exit', () => resolve());
    };
    process.on('worker', onWorker);
  });
}

describe('shareThisThread: which data dirs this thread takes', () => {
  it('in a long run, only the first ones by default; with shareThisThread, some to the end of the list too', async () => {
    const { root, dirs: list } = longRun((file) => writeAt(store(reg, 'sagas'), file, 1));
    const taken: Record<string, number[]> = {};
    for (const share of [false, true]) {
      here.dirs = [];
      here.gate = nextWorkerReady();
      try {
        const report = await checkFleet(reg, [root], { concurrency: 2, shareThisThread: share });
        expect(report.summary.byStatus).toEqual({ current: 401, missing: 802 });
      } finally {
        here.gate = null;
      }
      taken[String(share)] = here.dirs.map((d) => list.indexOf(d));
    }
    // By default this thread stops once a worker is ready: what it took is the head of the list.
    const alone = taken.false!;
    expect(alone.length).toBeGreaterThan(0);
    expect(alone).toEqual(alone.map((_, i) => i));
    // Shared, it goes on beside the worker: it takes data dirs after those the worker took, and
    // one of the last few (the worker has at most QUEUE_DEPTH in flight).
    const shared = taken.true!;
    expect(shared).not.toEqual(shared.map((_, i) => i));
    expect(Math.max(...shared)).toBeGreaterThanOrEqual(list.length - 5);
  }, 120_000);

  it('a registry with a JavaScript step: this thread takes none, shared or not (its steps could end the process)', async () => {
    const js = await jsRegistry();
    const { root } = longRun((file) => writeAt(store(js, 'sagas'), file, 1));
    for (const shareThisThread of [false, true]) {
      here.dirs = [];
      const report = await checkFleet(js, [root], { concurrency: 2, shareThisThread });
      expect([shareThisThread, report.summary.byStatus]).toEqual([shareThisThread, { current: 401, missing: 802 }]);
      expect([shareThisThread, here.dirs]).toEqual([shareThisThread, []]);
    }
  }, 120_000);
});

describe('a file too big for a worker\'s capped heap', () => {
  it('in the library\'s long run a worker takes it, dies of it, and this thread finishes the dir: foreign, as at concurrency 1', async () => {
    // test/fleet.test.ts runs the same file through the CLI and the library at --concurrency 1
    // and 2; there, who takes it depends on how soon the workers are ready (this thread had done
    // 89 to 320 of the 401 small dirs by then). Here this thread's first dir waits for a worker,
    // so this thread stops after it, and the big file, last in the list, goes to a worker.
    const { root } = longRun();
    const big = path.join(root, 'z-huge', 'objects.db');
    writeHugeForeignFile(big);
    const before = fingerprint(big);
    let started = 0;
    const count = () => started++;
    process.on('worker', count);
    here.dirs = [];
    here.gate = nextWorkerReady();
    let objects;
    try {
      const report = await checkFleet(reg, [root], { concurrency: 2 });
      objects = report.dirs.at(-1)!.stores.find((s) => s.name === 'objects')!;
    } finally {
      here.gate = null;
      process.off('worker', count);
    }
    // This thread: the first dir, then the big one, after its worker died (a third worker replaced it).
    expect(here.dirs).toEqual([path.join(root, 'd000'), path.dirname(big)]);
    expect(started).toBe(3);
    expect([objects.status, objects.message]).toEqual(['foreign', expect.stringMatching(/2000 in all\)\): it belongs to another program/)]);
    expect(fingerprint(big)).toEqual(before);
  }, 120_000);
});

/** A copy of the shipped registry whose objects migration 004 is a JavaScript step. */
async function jsRegistry(): Promise<Registry> {
  const stores = path.join(tmpDir(), 'stores');
  fs.cpSync(STORES, stores, { recursive: true });
  const migrations = path.join(stores, 'objects', 'migrations');
  fs.rmSync(path.join(migrations, '004-agents-consolidation.sql'));
  fs.writeFileSync(path.join(migrations, '004-agents-consolidation.mjs'), `export default function (db) { db.exec(${JSON.stringify(fs.readFileSync(path.join(STORES, 'objects', 'migrations', '004-agents-consolidation.sql'), 'utf8'))}); }\n`);
  return await loadRegistry(stores);
}

/** A root holding one data dir (a current sagas.db) among 25 empty directories: more than 20 directories, one data dir. */
function sparseRoot(): string {
  const root = path.join(tmpDir(), 'sparse');
  for (let i = 0; i < 25; i++) fs.mkdirSync(path.join(root, `empty-${i}`), { recursive: true });
  writeAt(store(reg, 'sagas'), path.join(root, 'sagas.db'), 1);
  return root;
}

describe('workers started ahead of their pool (prestartWorkers)', () => {
  it('a pool takes the waiting worker instead of starting one, and it takes data dirs', async () => {
    const { root } = longRun((file) => writeAt(store(reg, 'sagas'), file, 1));
    // This thread's first data dir waits for the prestarted worker to be ready, so the worker
    // has dirs left to take however busy the machine: it is ready only once told its registry.
    here.gate = nextWorkerReady();
    // The 'worker' event comes on the next tick: the prestarted worker's, before counting.
    const waiting = new Promise((resolve) => process.once('worker', resolve));
    prestartWorkers(1);
    await waiting;
    let started = 0;
    const count = () => started++;
    process.on('worker', count);
    here.dirs = [];
    try {
      const report = await checkFleet(reg, [root], { concurrency: 2, shareThisThread: true });
      expect(report.summary.byStatus).toEqual({ current: 401, missing: 802 });
    } finally {
      here.gate = null;
      process.off('worker', count);
      await discardWaitingWorkers();
    }
    expect(started).toBe(0);
    expect(here.dirs.length).toBeGreaterThan(0);
    expect(here.dirs.length).toBeLessThan(401);
  }, 120_000);

  it('a worker shares the run\'s stop flag whether told it in its workerData or, started ahead, in its first message', async () => {
    for (const ahead of [false, true]) {
      const dir = path.join(tmpDir(), 'empty');
      fs.mkdirSync(dir);
      const started = new Promise<Worker>((resolve) => process.once('worker', resolve));
      if (ahead) prestartWorkers(1);
      const stop = createStopFlag();
      const pool = new WorkerPool(1, reg, { mode: 'up' }, stop);
      const worker = await started;
      try {
        await pool.firstReady();
        // A task posted straight to the worker after the stop (the pool itself would not post it):
        // the worker answers from the flag it shares with this thread, not reached, and creates nothing.
        requestStop(stop);
        const reply = new Promise<unknown>((resolve) => worker.on('message', (m: { id?: number }) => m.id === 99 && resolve(m)));
        worker.postMessage({ id: 99, dir });
        expect([ahead, await reply]).toEqual([ahead, { id: 99, ok: false, notReached: true }]);
        expect(fs.readdirSync(dir)).toEqual([]);
      } finally {
        await pool.close();
        await discardWaitingWorkers();
      }
    }
  }, 120_000);

  it('a pool whose heap limits its cap does not suit (JavaScript steps: no cap; a registry over 1 MB: a larger cap) starts its own; the waiting one is stopped', async () => {
    // The shipped registry with a 1.2 MB comment in sagas' baseline: its structured clone, and so
    // its workers' cap (32 MB + 8 per MB), outgrow what a worker started ahead was given.
    const big = path.join(tmpDir(), 'stores');
    fs.cpSync(STORES, big, { recursive: true });
    fs.appendFileSync(path.join(big, 'sagas', 'schema.sql'), `\n-- ${'x'.repeat(1_200_000)}\n`);
    const large = await loadRegistry(big);
    expect(v8.serialize(large).length).toBeGreaterThan(1024 * 1024);
    for (const [kind, r] of [['JavaScript steps', await jsRegistry()], ['over 1 MB', large]] as const) {
      const { root } = longRun((file) => writeAt(store(r, 'sagas'), file, 1));
      const waiting = new Promise<Worker>((resolve) => process.once('worker', resolve));
      prestartWorkers(1);
      const prestarted = await waiting;
      const exited = new Promise<void>((resolve) => prestarted.once('exit', () => resolve()));
      let started = 0;
      const count = () => started++;
      process.on('worker', count);
      try {
        const report = await checkFleet(r, [root], { concurrency: 2 });
        expect([kind, report.summary.byStatus]).toEqual([kind, { current: 401, missing: 802 }]);
      } finally {
        process.off('worker', count);
      }
      // A long run of the library: two workers of its own, the waiting one left alone.
      expect([kind, started]).toEqual([kind, 2]);
      await discardWaitingWorkers();
      await exited;
    }
  }, 120_000);

  it('the CLI starts its worker before it reads its registry in a short run of more than 20 dirs only; one left unused is stopped', () => {
    const { root, dirs } = longRun((file) => writeAt(store(reg, 'sagas'), file, 1));
    // One data dir among 25 other directories; and one data dir alone.
    const sparse = sparseRoot();
    const few = path.join(tmpDir(), 'few');
    fs.mkdirSync(few);
    writeAt(store(reg, 'sagas'), path.join(few, 'sagas.db'), 1);
    // Each CLI process says, as it exits, in what order it started a worker (constructed it: the
    // 'worker' event comes a tick later) and read a store.json.
    const order = path.join(tmpDir(), 'order.cjs');
    fs.writeFileSync(
      order,
      `const fs = require('node:fs'); const seen = []; const read = fs.readFileSync;
fs.readFileSync = function (p, ...rest) { if (typeof p === 'string' && p.endsWith('store.json') && !seen.includes('registry')) seen.push('registry'); return read.call(this, p, ...rest); };
const wt = require('node:worker_threads'); const Worker = wt.Worker;
wt.Worker = class extends Worker { constructor(...args) { seen.push('worker'); super(...args); } };
require('node:module').syncBuiltinESMExports();
process.on('exit', () => process.stderr.write('order: ' + seen.join(' ') + '\\n'));
`,
    );
    const env = { NODE_OPTIONS: `--require ${order}` };
    const run = (args: string[]) => {
      const r = cli([...args, '--json'], { env });
      // 3: the dirs hold only sagas.db, the other stores are missing (pending creation).
      expect([args, r.code]).toEqual([args, 3]);
      return r.stderr.match(/order: (.*)/)![1];
    };
    // 30 named dirs, or a root of 30: a short run, one worker beside this thread.
    expect(run(['check', ...dirs.slice(0, 30), '--concurrency', '2'])).toBe('worker registry');
    const short = path.join(tmpDir(), 'short');
    for (const d of dirs.slice(0, 30)) fs.cpSync(d, path.join(short, path.basename(d)), { recursive: true });
    expect(run(['check', '--root', short, '--concurrency', '2'])).toBe('worker registry');
    // A long run (401 dirs): its worker starts once the registry is loaded, so that its heap's
    // set-up cannot let this thread's young generation grow while this thread loads it.
    expect(run(['check', '--root', root, '--concurrency', '2'])).toBe('registry worker');
    // More than 20 directories, one data dir: the worker was started for nothing, and stopped (the process ends).
    expect(run(['check', '--root', sparse, '--concurrency', '2'])).toBe('worker registry');
    // A root of 20 directories at most, a few named dirs, or one thread: no worker at all.
    expect(run(['check', '--root', few, '--concurrency', '2'])).toBe('registry');
    expect(run(['check', ...dirs.slice(0, 3), '--concurrency', '2'])).toBe('registry');
    expect(run(['check', '--root', root, '--concurrency', '1'])).toBe('registry');
  }, 120_000);

  it('run in process (runCli), the CLI stops the worker it started for nothing before it returns, a broken registry too', async () => {
    const sparse = sparseRoot();
    const broken = path.join(tmpDir(), 'stores');
    fs.cpSync(STORES, broken, { recursive: true });
    fs.writeFileSync(path.join(broken, 'sagas', 'store.json'), '{ not json');
    for (const [stores, expected] of [[STORES, 3], [broken, 2]] as const) {
      const prestarted = new Promise<Worker>((resolve) => process.once('worker', resolve));
      let out = '';
      const code = await runCli(['check', '--root', sparse, '--stores', stores, '--json', '--concurrency', '2'], {
        stdout: (t) => (out += t),
        stderr: () => undefined,
        env: {},
        cwd: process.cwd(),
        stdoutTTY: false,
        stderrTTY: false,
        signals: false,
      });
      // 3: the data dir's other stores are missing; 2: the registry cannot be loaded.
      expect([stores, code]).toEqual([stores, expected]);
      if (code === 3) expect(JSON.parse(out).summary.dirs).toBe(1);
      else expect(JSON.parse(out).error.code).toBe('REGISTRY_INVALID');
      const worker = await prestarted;
      // Stopped already: its threadId is -1 once it has exited.
      expect([stores, worker.threadId]).toEqual([stores, -1]);
    }
  }, 120_000);
});
