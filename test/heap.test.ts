/**
 * The CLI's heap flags (src/cli/heap.ts) hold in a process that has started worker threads:
 * Node's `new Worker()` puts V8's flags back as the command line gave them.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const HEAP = pathToFileURL(path.join(ROOT, 'dist', 'cli', 'heap.js')).href;

/**
 * The largest new space (MB) a process reaches allocating objects of which a third survive a
 * while, after `setup` ran and three worker threads were started (one after another, each
 * online before the next: a worker's start resets V8's flags from its own thread).
 */
function peakNewSpace(setup: string): number {
  const script = `
    import v8 from 'node:v8';
    import { Worker } from 'node:worker_threads';
    ${setup}
    for (let i = 0; i < 3; i++) {
      const w = new Worker('setTimeout(() => {}, 1)', { eval: true });
      await new Promise((ok) => w.once('online', ok));
    }
    const keep = [];
    let max = 0;
    for (let i = 0; i < 2e6; i++) {
      const o = { a: i, b: 'x' + i, c: [i, i + 1] };
      if (i % 3 === 0) keep.push(o);
      if (keep.length > 50000) keep.length = 0;
      if (i % 10000 === 0) max = Math.max(max, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
    }
    console.log(max / 1048576);
    process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return Number(r.stdout.trim());
}

describe('the CLI keeps its heap small', () => {
  it("keeps the young generation's start-up size after a worker thread starts", () => {
    expect(peakNewSpace(`const { keepHeapsSmall } = await import(${JSON.stringify(HEAP)}); keepHeapsSmall();`)).toBeLessThanOrEqual(4);
  });

  it("a long run keeps it small; a short one has V8's own settings back", () => {
    const setup = (long: boolean) => `const { keepHeapsSmall, heapForRun } = await import(${JSON.stringify(HEAP)}); keepHeapsSmall(); heapForRun(${long});`;
    expect(peakNewSpace(setup(true))).toBeLessThanOrEqual(4);
    expect(peakNewSpace(setup(false))).toBeGreaterThan(8);
  });

  it('would not with the flag set once, before the worker (what the test guards against)', () => {
    expect(peakNewSpace(`v8.setFlagsFromString('--semi-space-growth-factor=1');`)).toBeGreaterThan(8);
  });
});
