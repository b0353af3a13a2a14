/**
 * openStores is typed by the registry's store names: a host built with `strict` and
 * `noUncheckedIndexedAccess` (test/fixtures/typed-host) writes `stores.db.objects` without `!`,
 * and `stores.db.nope` does not compile. Checked by the installed TypeScript against the built
 * declarations (run `npx tsc -p .` first).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'typed-host');

describe('typed openStores', () => {
  it('a host under noUncheckedIndexedAccess type-checks: known names are Database, unknown ones are errors', () => {
    expect(fs.existsSync(path.join(ROOT, 'dist', 'index.d.ts')), 'run `npx tsc -p .` first').toBe(true);
    const config = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'tsconfig.json'), 'utf8')) as { compilerOptions: Record<string, unknown> };
    expect(config.compilerOptions.strict).toBe(true);
    expect(config.compilerOptions.noUncheckedIndexedAccess).toBe(true);
    const r = spawnSync(process.execPath, [TSC, '-p', path.join(FIXTURE, 'tsconfig.json')], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });
});
