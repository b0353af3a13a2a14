/**
 * `stores up|check|adopt --d1 FILE`: the CLI over real D1 databases (Miniflare, started by the
 * CLI on 127.0.0.1): the same statuses, JSON document, exit codes and HTML page as for files,
 * and clear usage errors for a config that does not fit the registry.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { Report } from '../src/report.js';
import { renderReport } from '../src/cli/render.js';
import { startLocalD1 } from '../src/d1/local.js';
import { cli, ROOT, tmpDir } from './helpers.js';

/** Runs statements on some of a config's databases through D1 itself, while no CLI runs. */
async function onD1(configFile: string, work: Record<string, string[]>): Promise<unknown[][]> {
  const out: unknown[][] = [];
  const local = await startLocalD1(Object.fromEntries(Object.keys(work).map((b) => [b, b])), path.join(path.dirname(configFile), 'state'));
  try {
    for (const [binding, sql] of Object.entries(work)) {
      const db = local.db(binding);
      const results = await db.batch(sql.map((x) => db.prepare(x)));
      out.push(results.flatMap((r) => r.results));
    }
  } finally {
    await local.dispose();
  }
  return out;
}

function config(dirs: Record<string, Record<string, unknown>>, extra: Record<string, unknown> = {}): string {
  const dir = tmpDir('stores-d1-cli-');
  const file = path.join(dir, 'd1.json');
  fs.writeFileSync(file, JSON.stringify({ persist: 'state', dirs, ...extra }, null, 2));
  return file;
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const tenant = (t: string) => ({ objects: `${t}_OBJECTS`, filestore: `${t}_FILESTORE`, sagas: `${t}_SAGAS` });

describe('--d1: usage errors (exit 2, nothing started)', () => {
  it('refuses data dirs or --root beside --d1, in any order', () => {
    const file = config({ acme: tenant('ACME') });
    for (const args of [['check', '--d1', file, 'data'], ['check', 'data', '--d1', file], ['up', '--root', '.', '--d1', file]]) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('--d1 names the databases; give no data dir or --root with it');
    }
  });

  it('names the file and what to do for a missing file, bad JSON, a store not bound, an unknown store, a shared binding', () => {
    const dir = tmpDir('stores-d1-cli-');
    const cases: [string, string][] = [
      [path.join(dir, 'absent.json'), 'no such file'],
      [(() => { const f = path.join(dir, 'bad.json'); fs.writeFileSync(f, '{ "persist": '); return f; })(), 'not readable JSON'],
      [config({ acme: { objects: 'A_OBJECTS', filestore: 'A_FILESTORE' } }), 'dirs.acme names no database for sagas; add "sagas": "ACME_SAGAS"'],
      [config({ acme: { ...tenant('A'), audit: 'A_AUDIT' } }), 'dirs.acme.audit: the registry has no store audit'],
      [config({ acme: tenant('A'), globex: { ...tenant('G'), sagas: 'A_SAGAS' } }), "binding A_SAGAS is already acme.sagas's"],
      [config({ acme: { ...tenant('A'), sagas: 'not a binding' } }), 'dirs.acme.sagas'],
      [config({}), 'dirs is empty'],
    ];
    for (const [file, says] of cases) {
      const r = cli(['check', '--d1', file]);
      expect(r.code, file).toBe(2);
      expect(r.stderr).toContain(file);
      expect(r.stderr).toContain(says);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    const json = cli(['check', '--d1', path.join(dir, 'absent.json'), '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).error.code).toBe('USAGE');
  });

  it('refuses the flags that mean something for files only', () => {
    const file = config({ acme: tenant('ACME') });
    expect(cli(['up', '--d1', file, '--no-create']).stderr).toContain('--no-create does not apply to --d1');
    expect(cli(['check', '--d1', file, '--d1', file]).stderr).toContain('--d1 is given 2 times');
  });
});

describe('--d1: a fleet of D1 databases through the CLI', () => {
  it('check → empty (exit 3), up → initialized (exit 0), check → current; the same JSON document as for files', () => {
    const file = config({ acme: tenant('ACME'), globex: tenant('GLOBEX') });
    const before = cli(['check', '--d1', file, '--json']);
    expect(before.code, before.stderr).toBe(3);
    const b = JSON.parse(before.stdout) as Report;
    expect(b.summary).toEqual({ dirs: 2, stores: 6, byStatus: { empty: 6 } });
    expect(b.dirs.map((d) => d.path)).toEqual(['d1:acme', 'd1:globex']);
    expect(b.dirs[0]!.stores.map((s) => s.file)).toEqual(['d1:ACME_FILESTORE', 'd1:ACME_OBJECTS', 'd1:ACME_SAGAS']);

    const up = cli(['up', '--d1', file, '--json']);
    expect(up.code, up.stderr).toBe(0);
    const u = JSON.parse(up.stdout) as Report;
    expect(u.summary.byAction).toEqual({ initialized: 6 });
    for (const s of u.dirs.flatMap((d) => d.stores)) {
      expect(s).toMatchObject({ status: 'empty', action: 'initialized', version: 0, to: s.target, backup: null });
    }
    expect(Object.keys(u)).toEqual(['registry', 'dirs', 'summary']);

    const after = cli(['check', '--d1', file]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toContain('d1:acme');
    expect(after.stdout).toMatch(/current/);
    // The databases live where the config says, as SQLite files Miniflare keeps.
    expect(fs.readdirSync(path.join(path.dirname(file), 'state'), { recursive: true }).some((f) => String(f).endsWith('.sqlite'))).toBe(true);
  });

  it('drift and too-new are refused (exit 4) and named; up --repair adds what a drifted database lacks', async () => {
    const file = config({ acme: tenant('ACME'), globex: tenant('GLOBEX') });
    expect(cli(['up', '--d1', file]).code).toBe(0);
    await onD1(file, { ACME_OBJECTS: ['DROP INDEX idx_agents_definition'], GLOBEX_SAGAS: ['UPDATE _stores_version SET version = 9'] });
    const r = cli(['check', '--d1', file, '--json']);
    expect(r.code, r.stderr).toBe(4);
    const stores = (JSON.parse(r.stdout) as Report).dirs.flatMap((d) => d.stores);
    const drift = stores.find((s) => s.file === 'd1:ACME_OBJECTS')!;
    expect(drift.status).toBe('drift');
    expect(drift.message).toContain('idx_agents_definition');
    expect(drift.message).toContain("each difference is in the report's `changes`");
    expect(drift.message).not.toContain('stores diff');
    expect(drift.changes?.length).toBeGreaterThan(0);
    expect(stores.find((s) => s.file === 'd1:GLOBEX_SAGAS')).toMatchObject({ status: 'too-new', version: 9 });

    const up = cli(['up', '--d1', file, '--repair', '--json']);
    expect(up.code, up.stdout).toBe(4); // too-new stays refused, and untouched
    const after = (JSON.parse(up.stdout) as Report).dirs.flatMap((d) => d.stores);
    expect(after.find((s) => s.file === 'd1:ACME_OBJECTS')).toMatchObject({ status: 'drift', action: 'repaired' });
    expect(after.find((s) => s.file === 'd1:GLOBEX_SAGAS')).toMatchObject({ status: 'too-new', action: 'refused' });
    const human = cli(['check', '--d1', file]);
    expect(human.code).toBe(4);
    expect(human.stdout).toMatch(/objects\s+current/);
    expect(human.stdout).toMatch(/sagas\s+too-new\s+v9\/v1/);
  }, 120_000);

  it('adopt --d1: a legacy database (the schema, no version row) is adopted with its rows; the others are left to up', async () => {
    const file = config({ acme: tenant('ACME') });
    const sagas = fs.readFileSync(path.join(ROOT, 'stores', 'sagas', 'schema.sql'), 'utf8');
    const ddl = sagas.split(';').map((x) => x.replace(/--[^\n]*/g, '').trim()).filter(Boolean);
    await onD1(file, { ACME_SAGAS: [...ddl, "INSERT INTO saga VALUES ('s1', 'k', 'done', '{}', 1, 2)", "INSERT INTO saga_step VALUES ('s1', 0, 'a', 'done', NULL, 2)"] });
    const before = cli(['check', '--d1', file, '--json']);
    expect(before.code).toBe(3);
    expect((JSON.parse(before.stdout) as Report).dirs[0]!.stores.find((s) => s.name === 'sagas')).toMatchObject({ status: 'legacy', version: 0 });
    const r = cli(['adopt', '--d1', file, '--json']);
    expect(r.code, r.stdout).toBe(3); // the empty ones still need up
    const stores = (JSON.parse(r.stdout) as Report).dirs[0]!.stores;
    expect(stores.find((s) => s.name === 'sagas')).toMatchObject({ status: 'legacy', action: 'adopted', to: 1 });
    expect(stores.filter((s) => s.name !== 'sagas').map((s) => s.action)).toEqual(['unchanged', 'unchanged']);
    const after = cli(['check', '--d1', file, '--json']);
    expect((JSON.parse(after.stdout) as Report).dirs[0]!.stores.find((s) => s.name === 'sagas')).toMatchObject({ status: 'current', version: 1 });
    const [rows] = await onD1(file, { ACME_SAGAS: ['SELECT id, state FROM saga', 'SELECT saga_id, idx FROM saga_step', 'SELECT store, version FROM _stores_version'] });
    expect(rows).toEqual([{ id: 's1', state: 'done' }, { saga_id: 's1', idx: 0 }, { store: 'sagas', version: 1 }]);
  }, 120_000);

  it.skipIf(!fs.existsSync(CHROMIUM) && !process.env.CI)('check --html draws the same page for D1 reports, in a real browser', async () => {
    const file = config({ acme: tenant('ACME'), globex: tenant('GLOBEX'), initech: tenant('INITECH') });
    expect(cli(['up', '--d1', file]).code).toBe(0);
    await onD1(file, { INITECH_SAGAS: ['UPDATE _stores_version SET version = 9'] });
    const page = path.join(path.dirname(file), 'd1.html');
    const r = cli(['check', '--d1', file, '--json', '--html', page]);
    expect(r.code, r.stderr).toBe(4);
    const report = JSON.parse(r.stdout) as Report;
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const p = await browser.newPage();
      const errors: string[] = [];
      p.on('pageerror', (e) => errors.push(e.message));
      await p.goto(`file://${page}`);
      expect(await p.$$eval('#rows tr', (rows) => rows.length)).toBe(3);
      expect(await p.$$eval('#rows .cell', (c) => c.length)).toBe(report.summary.stores);
      expect(await p.textContent('#rows')).toContain('d1:initech');
      const counts = await p.$$eval('#counts .count', (els) => els.map((e) => [e.getAttribute('data-status'), e.textContent]));
      expect(Object.fromEntries(counts.map(([s, t]) => [s, Number(String(t).split(' ').pop())]))).toEqual(report.summary.byStatus);
      // The one refused database is listed with its reason.
      expect(await p.$$eval('#attention li', (l) => l.map((x) => x.textContent))).toEqual([expect.stringContaining('d1:INITECH_SAGAS')]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 120_000);
});

describe('--d1: the human report names no file-only remedy', () => {
  it('a drift with more differences than the table shows points at --json, never at stores diff of a D1 database', () => {
    const changes = Array.from({ length: 14 }, (_, i) => ({ change: 'extra' as const, object: 'table' as const, table: `t${i}`, name: `t${i}`, detail: '' }));
    const report = {
      registry: [{ name: 'objects', file: 'objects.db', version: 4, minVersion: 1 }],
      dirs: [{ path: 'd1:acme', stores: [{ name: 'objects', file: 'd1:ACME_OBJECTS', status: 'drift' as const, version: 4, target: 4, backup: null, message: 'drift', ms: 1, changes }] }],
      summary: { dirs: 1, stores: 1, byStatus: { drift: 1 } },
    } as unknown as Report;
    const text = renderReport(report, 'check', { color: false });
    expect(text).toContain('… 2 more (--json lists every one)');
    expect(text).not.toContain('stores diff');
  });
});
