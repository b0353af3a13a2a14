/**
 * Which data dirs this thread takes in a fleet run beside the workers (src/fleet/run.ts): with
 * shareThisThread, to the end of a long run, not only until the first worker is ready; and a data
 * dir whose file outgrew a worker's capped heap. What this thread took is seen by wrapping
 * runDir, which this thread calls for each data dir it takes (the workers run the compiled module
 * in dist/, not this one).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { checkFleet, loadRegistry } from '../src/api.js';
import type { Registry } from '../src/types.js';
import { longRun, writeHugeForeignFile } from './fleet-builder.js';
import { fingerprint, registry, store, STORES, tmpDir, writeAt } from './helpers.js';

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
    const stores = path.join(tmpDir(), 'stores');
    fs.cpSync(STORES, stores, { recursive: true });
    const migrations = path.join(stores, 'objects', 'migrations');
    fs.rmSync(path.join(migrations, '004-agents-consolidation.sql'));
    fs.writeFileSync(path.join(migrations, '004-agents-consolidation.mjs'), `export default function (db) { db.exec(${JSON.stringify(fs.readFileSync(path.join(STORES, 'objects', 'migrations', '004-agents-consolidation.sql'), 'utf8'))}); }\n`);
    const js = await loadRegistry(stores);
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
