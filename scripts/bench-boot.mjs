#!/usr/bin/env node
/**
 * Boot-path benchmark: what `openStores` costs on an already-current data dir, against a raw
 * baseline measured in the same run (open each file, read user_version and sqlite_schema, close).
 *
 *   npm run bench:boot            # table + one JSON line
 *   npm run bench:boot -- --json  # the JSON line only
 *
 * Environment: BENCH_REPS (in-process repetitions of each variant, default 300),
 * BENCH_WARMUP (default 50), BENCH_PROC_REPS (child processes per variant, default 30),
 * BENCH_REG_REPS (loadRegistry repetitions, default 50).
 *
 * Run `npm run build` first: this imports ../dist/bundle/index.js (what `import 'stores'` loads).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const distIndex = path.join(root, 'dist', 'bundle', 'index.js');
const registryDir = path.join(root, 'stores');
if (!fs.existsSync(distIndex)) throw new Error(`${distIndex} not found: run \`npx tsc -p .\` first`);
const { loadRegistry, openStores } = await import(pathToFileURL(distIndex).href);

const TARGET = 1.2;
const JSON_ONLY = process.argv.includes('--json');
const intEnv = (name, dflt) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number ≥ 1 (got ${JSON.stringify(v)})`);
  return n;
};
const REPS = intEnv('BENCH_REPS', 300);
const WARMUP = intEnv('BENCH_WARMUP', 50);
const PROC_REPS = intEnv('BENCH_PROC_REPS', 30);
const REG_REPS = intEnv('BENCH_REG_REPS', 50);

const now = () => process.hrtime.bigint();
const us = (ns) => Number(ns) / 1e3;
function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  const p90 = s[Math.min(n - 1, Math.ceil(0.9 * n) - 1)];
  const r = (x) => Math.round(x * 10) / 10;
  return { median: r(median), p90: r(p90), min: r(s[0]), n };
}
const ratio = (a, b) => Math.round((a / b) * 100) / 100;

// ---------------------------------------------------------------- setup
const registry = await loadRegistry(registryDir);
const files = registry.stores.map((s) => s.file);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stores-bench-boot-'));

async function setup() {
  const s = await openStores(registry, dir);
  const db = s.db.objects;
  db.transaction(() => {
    const obj = db.prepare('INSERT INTO db_client (oid, data) VALUES (?, ?)');
    const blk = db.prepare('INSERT INTO db_block (oid, data) VALUES (?, ?)');
    for (let i = 0; i < 200; i++) {
      obj.run(`client-${i}`, JSON.stringify({ i, name: `client ${i}`, tags: ['a', 'b', 'c'] }));
      blk.run(`block-${i}`, JSON.stringify({ i, text: 'x'.repeat(200) }));
    }
    const def = db.prepare('INSERT INTO db_agent_definitions (id, slug, name, provider, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
    const agent = db.prepare('INSERT INTO db_agents (id, definition_id, slug, name, provider, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const hist = db.prepare('INSERT INTO db_agent_history (agent_id, started_at, summary) VALUES (?, ?, ?)');
    for (let i = 0; i < 50; i++) {
      const id = `agent-${i}`;
      def.run(id, `slug-${i}`, `Agent ${i}`, 'local', 1000 + i, 2000 + i);
      agent.run(id, id, `slug-${i}`, `Agent ${i}`, 'local', 1000 + i, 2000 + i);
      for (let j = 0; j < 4; j++) hist.run(id, 3000 + j, `run ${j} of ${id}`);
    }
  })();
  await s.close();
  // The dir must now be current and clean, or the benchmark would measure something else.
  const again = await openStores(registry, dir);
  const rows = again.db.objects.prepare('SELECT (SELECT count(*) FROM db_client) + (SELECT count(*) FROM db_block) + (SELECT count(*) FROM db_agents) + (SELECT count(*) FROM db_agent_history) AS n').get().n;
  const notCurrent = again.report.filter((r) => r.status !== 'current' || r.action !== 'unchanged');
  const journal = again.db.objects.pragma('journal_mode', { simple: true });
  await again.close();
  if (notCurrent.length > 0) throw new Error(`setup: not current after the first open: ${JSON.stringify(notCurrent)}`);
  if (journal !== 'wal') throw new Error(`setup: objects.db journal_mode is ${journal}, expected wal`);
  const left = fs.readdirSync(dir).filter((f) => !files.includes(f));
  if (left.length > 0) throw new Error(`setup: unexpected files left in the data dir: ${left.join(', ')}`);
  return { objectRows: rows, bytes: Object.fromEntries(files.map((f) => [f, fs.statSync(path.join(dir, f)).size])) };
}

// ---------------------------------------------------------------- the two variants
const paths = files.map((f) => path.join(dir, f));
function raw() {
  const conns = [];
  for (const p of paths) {
    const db = new Database(p);
    db.pragma('user_version', { simple: true });
    db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema').all();
    conns.push(db);
  }
  for (const db of conns) db.close();
}
async function boot() {
  const s = await openStores(registry, dir);
  await s.close();
}

async function inProcess() {
  for (let i = 0; i < WARMUP; i++) {
    raw();
    await boot();
  }
  const a = [];
  const b = [];
  for (let i = 0; i < REPS; i++) {
    let t = now();
    raw();
    a.push(us(now() - t));
    t = now();
    await boot();
    b.push(us(now() - t));
  }
  return { raw: stats(a), openStores: stats(b) };
}

async function registryLoad() {
  const t = [];
  for (let i = 0; i < REG_REPS; i++) {
    const t0 = now();
    await loadRegistry(registryDir);
    t.push(us(now() - t0));
  }
  return stats(t);
}

// ---------------------------------------------------------------- whole processes
function processes() {
  const require = createRequire(import.meta.url);
  const sqliteUrl = pathToFileURL(require.resolve('better-sqlite3')).href;
  const distUrl = pathToFileURL(distIndex).href;
  const P = JSON.stringify(paths);
  const scripts = {
    empty: '',
    raw:
      `import Database from ${JSON.stringify(sqliteUrl)};` +
      `const c = [];` +
      `for (const p of ${P}) { const db = new Database(p); db.pragma('user_version', { simple: true });` +
      ` db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema').all(); c.push(db); }` +
      `for (const db of c) db.close();`,
    openStores:
      `import { loadRegistry, openStores } from ${JSON.stringify(distUrl)};` +
      `const r = await loadRegistry(${JSON.stringify(registryDir)});` +
      `const s = await openStores(r, ${JSON.stringify(dir)}); await s.close();`,
  };
  const run = (code) => {
    const t0 = now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' });
    const t = us(now() - t0);
    if (r.status !== 0) throw new Error(`child process failed (${r.status}): ${r.stderr || r.error}`);
    return t;
  };
  const samples = { empty: [], raw: [], openStores: [] };
  for (let i = 0; i < 3; i++) for (const k of Object.keys(scripts)) run(scripts[k]);
  for (let i = 0; i < PROC_REPS; i++) for (const k of Object.keys(scripts)) samples[k].push(run(scripts[k]));
  return { empty: stats(samples.empty), raw: stats(samples.raw), openStores: stats(samples.openStores) };
}

// ---------------------------------------------------------------- run
try {
  const data = await setup();
  const reg = await registryLoad();
  const ip = await inProcess();
  const pr = processes();
  const result = {
    bench: 'boot',
    date: new Date().toISOString(),
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    reps: REPS,
    warmup: WARMUP,
    unit: 'us',
    data,
    inProcess: { raw: ip.raw, openStores: ip.openStores, ratio: ratio(ip.openStores.median, ip.raw.median) },
    loadRegistry: reg,
    process: {
      reps: PROC_REPS,
      nodeEmpty: pr.empty,
      raw: pr.raw,
      openStores: pr.openStores,
      ratio: ratio(pr.openStores.median, pr.raw.median),
      ratioAboveNode: ratio(pr.openStores.median - pr.empty.median, pr.raw.median - pr.empty.median),
    },
    target: TARGET,
    targetMet: ratio(ip.openStores.median, ip.raw.median) <= TARGET,
  };
  if (!JSON_ONLY) {
    const f = (x) => x.toFixed(1).padStart(10);
    const line = (name, s) => `  ${name.padEnd(34)}${f(s.median)}${f(s.p90)}${String(s.n).padStart(6)}`;
    const out = [
      `boot bench — ${result.node}, ${result.cpu} ×${result.cores}, ${result.date}`,
      `data dir: ${files.join(', ')} (${data.objectRows} rows in objects.db), WAL, current`,
      '',
      `  ${'in process (µs)'.padEnd(34)}${'median'.padStart(10)}${'p90'.padStart(10)}${'n'.padStart(6)}`,
      line('raw: open+user_version+schema ×3', ip.raw),
      line('openStores + close', ip.openStores),
      `  ratio median(openStores)/median(raw): ${result.inProcess.ratio}`,
      line('loadRegistry (once per process)', reg),
      '',
      `  ${'whole process (µs, wall)'.padEnd(34)}${'median'.padStart(10)}${'p90'.padStart(10)}${'n'.padStart(6)}`,
      line('node -e "" (start-up floor)', pr.empty),
      line('raw', pr.raw),
      line('loadRegistry + openStores + close', pr.openStores),
      `  ratio median(openStores)/median(raw): ${result.process.ratio}` +
        ` (above the start-up floor: ${result.process.ratioAboveNode})`,
      '',
      `target: in-process ratio ≤ ${TARGET}: ${result.targetMet ? 'MET' : 'NOT MET'} (${result.inProcess.ratio})`,
    ];
    console.log(out.join('\n'));
  }
  console.log(JSON.stringify(result));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
