/**
 * Running measured processes one at a time, interleaving variants, and summarising samples.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

/** CPU seconds spent by the whole machine so far (all cores, /proc/stat), or null. */
const HZ = 100;
function machineBusy() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / HZ; // user nice system irq softirq steal
  } catch {
    return null;
  }
}

/**
 * A runner of measured processes: `run(argv, expect)` spawns `node ...argv` (under GNU time when
 * present, for peak RSS and CPU), stdout to /dev/null, and returns { s, rssMB, user, sys,
 * otherCpu, inner }: otherCpu the cores kept busy meanwhile by anything but the measured
 * process; inner what the process reported on its last `BENCH_ELAPSED {json}` stderr line.
 * `measure(label, variants, reps, warmup)` interleaves variants in rotated order.
 */
export function createRunner({ cwd, rssFile, log }) {
  const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
  const allOther = [];
  const run = (argv, expectCode = 0) => {
    const cmd = TIME ?? process.execPath;
    const args = TIME ? ['-f', '%M %U %S', '-o', rssFile, process.execPath, ...argv] : argv;
    const busy0 = machineBusy();
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20 });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const busy1 = machineBusy();
    if (r.status !== expectCode) throw new Error(`bench: ${argv.join(' ').slice(0, 300)} exited ${r.status} (expected ${expectCode}): ${r.stderr || r.error}`);
    let rssMB = null;
    let user = null;
    let sys = null;
    if (TIME) {
      const last = fs.readFileSync(rssFile, 'utf8').trim().split('\n').at(-1).split(' ');
      rssMB = Number(last[0]) / 1024;
      user = Number(last[1]);
      sys = Number(last[2]);
    }
    const mark = r.stderr.split('\n').filter((l) => l.startsWith('BENCH_ELAPSED ')).at(-1);
    const inner = mark ? JSON.parse(mark.slice('BENCH_ELAPSED '.length)) : null;
    const otherCpu = busy0 === null || user === null ? null : Math.max(0, (busy1 - busy0 - user - sys) / s);
    if (otherCpu !== null) allOther.push(otherCpu);
    return { s, rssMB, user, sys, otherCpu, inner };
  };

  /**
   * Per repetition, each variant in a rotated order, with its `prepare` (untimed) before and
   * `after(ctx, r)` (untimed) after; `sync` before each run. Returns samples per variant id.
   */
  const measure = (label, variants, reps, warmup = 0) => {
    const samples = Object.fromEntries(variants.map((v) => [v.id, []]));
    for (let r = -warmup; r < reps; r++) {
      const order = variants.map((_, i) => variants[(i + Math.max(r, 0)) % variants.length]);
      for (const v of order) {
        const ctx = v.prepare ? v.prepare() : undefined;
        spawnSync('sync');
        const m = run(v.argv(ctx), v.expect ?? 0);
        v.after?.(ctx, r, warmup);
        if (r >= 0) samples[v.id].push(m);
        log(
          `${label}: ${v.id}${r < 0 ? ' (warm-up)' : ` #${r + 1}`} ${m.s.toFixed(3)} s` +
            (m.inner ? ` (${m.inner.s.toFixed(3)} s in process)` : '') +
            (m.rssMB !== null ? `, cpu ${(m.user + m.sys).toFixed(2)} s, ${m.rssMB.toFixed(0)} MB peak RSS` : '') +
            (m.otherCpu !== null ? `, other load ${m.otherCpu.toFixed(2)} cores` : ''),
        );
      }
    }
    return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summary(v)]));
  };
  return { run, measure, allOther, hasTime: TIME !== null };
}

/** Medians of a variant's samples: wall time of the process, in-process time, RSS, CPU, other load. */
export function summary(ms) {
  const inner = ms.every((m) => m.inner) ? ms.map((m) => m.inner) : null;
  return {
    median: median(ms.map((m) => m.s)),
    min: Math.min(...ms.map((m) => m.s)),
    max: Math.max(...ms.map((m) => m.s)),
    n: ms.length,
    runs: ms.map((m) => +m.s.toFixed(4)),
    inner: inner ? { median: median(inner.map((i) => i.s)), setupS: median(inner.map((i) => i.setupS)), runs: inner.map((i) => +i.s.toFixed(4)), files: inner[0].files } : null,
    rssMB: ms[0]?.rssMB === null ? null : median(ms.map((m) => m.rssMB)),
    cpuS: ms[0]?.user === null ? null : median(ms.map((m) => m.user + m.sys)),
    otherCpu: ms[0]?.otherCpu === null ? null : median(ms.map((m) => m.otherCpu)),
  };
}
