/**
 * `stores check --html`: the page renders in a real headless browser (Debian's chromium), its
 * counts match the JSON report, and the status and version filters work.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../src/report.js';
import { buildFleet } from './fleet-builder.js';
import { cli, registry, tmpDir } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
if (!available && process.env.CI) throw new Error(`${CHROMIUM} not found: .ci/run installs Debian's chromium; the HTML test must run in CI`);

describe.skipIf(!available)('check --html in a headless browser', () => {
  let browser: Browser;
  let report: Report;
  let page: string;
  let shot: string;

  beforeAll(async () => {
    const reg = await registry();
    const root = path.join(tmpDir(), 'data');
    buildFleet(reg, root, 40);
    page = path.join(tmpDir(), 'fleet.html');
    shot = path.join(path.dirname(page), 'fleet.png');
    const r = cli(['check', '--root', root, '--json', '--html', page]);
    expect(r.code).toBe(4);
    report = JSON.parse(r.stdout) as Report;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('renders the grid with counts matching the JSON, and filters by status and version', async () => {
    const p = await browser.newPage();
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push(e.message));
    await p.goto(`file://${page}`);
    // Counts: one button per status, with the JSON's number.
    const counts = await p.$$eval('#counts .count', (els) => els.map((e) => [e.getAttribute('data-status'), e.textContent]));
    expect(Object.fromEntries(counts.map(([s, t]) => [s, Number(String(t).split(' ').pop())]))).toEqual(report.summary.byStatus);
    // Grid: one row per data dir, one cell per store.
    expect(await p.$$eval('#rows tr', (r) => r.length)).toBe(report.summary.dirs);
    expect(await p.$$eval('#rows .cell', (c) => c.length)).toBe(report.summary.stores);
    // Reasons for every store that needs attention.
    const refused = report.dirs.flatMap((d) => d.stores).filter((s) => !['current', 'missing', 'empty', 'behind', 'legacy'].includes(s.status));
    expect(await p.$$eval('#attention li', (l) => l.length)).toBe(refused.length);
    await p.screenshot({ path: shot, fullPage: false });

    // Hide 'current': only dirs with another status stay, and no current cell.
    await p.click('#counts .count[data-status="current"]');
    expect(await p.$$eval('#rows .cell[data-status="current"]', (c) => c.length)).toBe(0);
    const notCurrent = report.dirs.filter((d) => d.stores.some((s) => s.status !== 'current')).length;
    expect(await p.$$eval('#rows tr', (r) => r.length)).toBe(notCurrent);
    await p.click('#counts .count[data-status="current"]');
    expect(await p.$$eval('#rows .cell', (c) => c.length)).toBe(report.summary.stores);

    // Version filter: v2 shows exactly the behind objects files.
    await p.selectOption('#version', 'v2');
    const v2 = report.dirs.flatMap((d) => d.stores).filter((s) => s.version === 2).length;
    expect(v2).toBeGreaterThan(0);
    expect(await p.$$eval('#rows .cell', (c) => c.length)).toBe(v2);
    expect(await p.$$eval('#rows .cell', (c) => c.every((x) => x.getAttribute('data-status') === 'behind'))).toBe(true);
    expect(errors).toEqual([]);
  });

  it('is self-contained and treats paths as text', async () => {
    const html = fs.readFileSync(page, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\//);
    // A data dir whose name looks like markup shows up as text, not as an element.
    const reg = await registry();
    const root = path.join(tmpDir(), 'evil');
    const dir = path.join(root, '<img src=x onerror=alert(1)>');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'sagas.db'), '');
    const out = path.join(tmpDir(), 'evil.html');
    cli(['check', '--root', root, '--html', out]);
    const p = await browser.newPage();
    await p.goto(`file://${out}`);
    expect(await p.$$eval('img', (i) => i.length)).toBe(0);
    expect(await p.textContent('#rows')).toContain('<img src=x onerror=alert(1)>');
    void reg;
  });
});
