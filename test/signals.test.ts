/**
 * SIGINT/SIGTERM during `up`: the stores in flight commit or roll back, the others are left as
 * they were, the exit message says what was done, and a later `up` finishes the job.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '../src/types.js';
import type { Report } from '../src/report.js';
import { CLI, ROOT, cli, query, registry, store, tmpDir, userVersion, writeAt } from './helpers.js';

let reg: Registry;
beforeAll(async () => {
  reg = await registry();
});

/** user_version from the header bytes, without opening a connection. */
function headerVersion(file: string): number {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(4);
    fs.readSync(fd, b, 0, 4, 60);
    return b.readInt32BE(0);
  } finally {
    fs.closeSync(fd);
  }
}

function fleetOfBehind(n: number, rows: number): { root: string; dirs: string[] } {
  const root = path.join(tmpDir(), 'data');
  const tpl = path.join(tmpDir(), 'tpl.db');
  writeAt(store(reg, 'objects'), tpl, 3);
  const db = new Database(tpl);
  db.exec(`WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < ${rows})
           INSERT INTO db_agent_definitions (id, slug, name, provider) SELECT 'a' || v, 's' || v, 'n' || v, 'p' FROM n`);
  db.close();
  const dirs: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = path.join(root, `d${String(i).padStart(3, '0')}`);
    fs.mkdirSync(d, { recursive: true });
    fs.copyFileSync(tpl, path.join(d, 'objects.db'));
    dirs.push(d);
  }
  return { root, dirs };
}

async function interrupted(root: string, sig: NodeJS.Signals, concurrency: number, dirs: string[]) {
  const child = spawn(process.execPath, [CLI, 'up', '--root', root, '--json', '--concurrency', String(concurrency)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number>((resolve) => child.on('close', (code, s) => resolve(code ?? (s ? -1 : -2))));
  // Wait until the run is under way (a first file migrated), then signal.
  const t0 = Date.now();
  while (!dirs.some((d) => headerVersion(path.join(d, 'objects.db')) === 4) && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 5));
  child.kill(sig);
  const code = await exited;
  return { code, report: JSON.parse(out) as Report, stderr: err };
}

describe('interrupting up', () => {
  for (const [sig, concurrency, code] of [['SIGINT', 1, 130], ['SIGTERM', 2, 143]] as const) {
    it(`${sig} (concurrency ${concurrency}): in-flight stores finish, the rest stay as they were, exit ${code}`, async () => {
      const { root, dirs } = fleetOfBehind(24, 20_000);
      const r = await interrupted(root, sig, concurrency, dirs);
      expect(r.code).toBe(code);
      expect(r.stderr).toMatch(new RegExp(`interrupted by ${sig}: \\d+ stores? changed, each committed whole; \\d+ data dirs? not reached`));
      const versions = dirs.map((d) => userVersion(path.join(d, 'objects.db')));
      const migrated = versions.filter((v) => v === 4).length;
      expect(migrated).toBeGreaterThan(0);
      expect(migrated).toBeLessThan(dirs.length);
      expect(versions.every((v) => v === 3 || v === 4)).toBe(true);
      // The report tells exactly which stores changed and which data dirs were not reached.
      const reported = r.report.dirs.flatMap((d) => d.stores).filter((s) => s.name === 'objects' && s.action === 'migrated').map((s) => s.file);
      expect(reported.sort()).toEqual(dirs.filter((_, i) => versions[i] === 4).map((d) => path.join(d, 'objects.db')).sort());
      expect((r.report.summary.notReached ?? []).length).toBeGreaterThan(0);
      for (const d of r.report.summary.notReached ?? []) expect(userVersion(path.join(d, 'objects.db'))).toBe(3);
      // Every migrated file holds all its rows; a later up finishes the job.
      for (const d of dirs.filter((_, i) => versions[i] === 4)) expect(query(path.join(d, 'objects.db'), 'SELECT count(*) AS n FROM db_agents')[0]).toEqual({ n: 20_000 });
      const again = cli(['up', '--root', root]);
      expect(again.code).toBe(0);
      expect(dirs.every((d) => userVersion(path.join(d, 'objects.db')) === 4)).toBe(true);
    });
  }
});
