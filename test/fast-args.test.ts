/**
 * The CLI's fast path reads the usual `up`/`check`/`adopt` command line without yargs
 * (src/cli/fast-args.ts). Whatever it accepts must mean exactly what yargs makes of it: the two
 * are compared on generated command lines (options in any order, before and after the command,
 * `--name=value` and `--name value`, repeated roots, negated booleans), and what it does not
 * accept falls back to yargs, whose messages stay the only ones.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastArgs } from '../src/cli/fast-args.js';
import { parseWithYargs } from '../src/cli/run.js';

const FIELDS = ['_', 'dirs', 'root', 'stores', 'concurrency', 'json', 'dry-run', 'repair', 'backup', 'create', 'html', 'd1'] as const;

function pick(a: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) if (a[f] !== undefined) out[f] = a[f];
  return out;
}

const word = fc.constantFrom('data', 'd/1.5.0', '123', '1e3', 'x y', 'up', 'check', 'ünï', '.', '0');
const value = (name: string) => word.map((w) => [`--${name}`, w]);
const inline = (name: string) => word.map((w) => [`--${name}=${w}`]);
const option = fc.oneof(
  value('root'), inline('root'), value('stores'), inline('stores'), value('html'), value('d1'), inline('d1'),
  fc.constantFrom(['--json'], ['--dry-run'], ['--repair'], ['--backup'], ['--no-backup'], ['--create'], ['--no-create'], ['--concurrency', '2'], ['--concurrency=3'], ['--concurrency', '1.5'], ['--concurrency', 'x']),
);
const line = fc
  .tuple(fc.constantFrom('up', 'check', 'adopt'), fc.array(fc.oneof(option, word.map((w) => [w])), { maxLength: 7 }), fc.nat(8))
  .map(([command, parts, at]) => {
    const flat = parts.flat();
    const i = Math.min(at, flat.length);
    return [...flat.slice(0, i), command, ...flat.slice(i)];
  });

describe('the CLI fast path reads what yargs reads', () => {
  it('on generated command lines, every one it accepts means what yargs makes of it', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(line, async (argv) => {
        const fast = fastArgs(argv);
        if (fast === null) return;
        accepted++;
        const y = await parseWithYargs(argv);
        expect('args' in y, `${argv.join(' ')}: yargs refused what the fast path accepted`).toBe(true);
        expect(pick(fast as unknown as Record<string, unknown>), argv.join(' ')).toEqual(pick((y as { args: Record<string, unknown> }).args));
      }),
      { numRuns: 400 },
    );
    expect(accepted).toBeGreaterThan(50); // the property saw the fast path, not only fallbacks
  });

  it('the usual lines are taken by the fast path', () => {
    for (const argv of [['check', '--root', 'data', '--json'], ['up', 'data/1.5.0'], ['--root', 'a', 'up', '--root', 'b', 'c', '--no-backup'], ['adopt', '--root=data', '--dry-run'], ['check', '--d1', 'd1.json', '--html', 'p.html']]) {
      expect(fastArgs(argv), argv.join(' ')).not.toBeNull();
    }
  });

  it('everything else goes to yargs', () => {
    for (const argv of [
      ['check', '--help'], ['--version'], ['up', '-h'], ['diff', 'x'], ['check', '--root'], ['check', '--root', '--json'], ['check', '--json', '--json'],
      ['check', '--stores', 'a', '--stores', 'b'], ['check', '--bogus'], ['check', '--repair'], ['up', '--html', 'x'], ['check', '--', 'x'], ['check', '-x'],
      ['check', '--json=true'], ['check', '--no-json'], ['check', '--root='], ['up', '--concurrency', 'two'], ['--html', 'x', 'up'], [],
    ]) {
      expect(fastArgs(argv), argv.join(' ')).toBeNull();
    }
  });
});
