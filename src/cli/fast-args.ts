/**
 * The usual command line of `up`, `check` and `adopt`, read without yargs: importing yargs and
 * building its parser costs about 100 ms of a process whose work may take less (a no-op `up` over
 * 200 current dirs, a host's boot script). Only a plain subset is read here — the command, data
 * dirs, each option of that command as `--name value` or `--name=value`, given once (`--root` any
 * number of times), the booleans as `--name` (and `--no-backup`, `--no-create`) — and the result
 * is what yargs gives for the same words (test/fast-args.test.ts compares the two on generated
 * command lines). Anything else (help, version, an unknown or repeated option, a missing value,
 * `--`) returns null, and yargs reads the line: its messages and its rules stay the only ones.
 */
import type { Args } from './common.js';

type Kind = 'string' | 'number' | 'boolean' | 'negatable';

const COMMON: Readonly<Record<string, Kind>> = { stores: 'string', root: 'string', concurrency: 'number', d1: 'string', json: 'boolean' };

const OPTIONS: Readonly<Record<string, Readonly<Record<string, Kind>>>> = {
  up: { ...COMMON, 'dry-run': 'boolean', repair: 'boolean', backup: 'negatable', create: 'negatable' },
  check: { ...COMMON, html: 'string' },
  adopt: { ...COMMON, 'dry-run': 'boolean', backup: 'negatable' },
};

/** yargs' defaults for the options the fast path reads. */
const DEFAULTS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  up: { backup: true, create: true },
  check: {},
  adopt: { backup: true },
};

const NUMBER = /^-?\d+(\.\d+)?$/;

/** The command line as yargs would read it, or null when it is not the plain subset. */
export function fastArgs(argv: readonly string[]): Args | null {
  let command: string | null = null;
  const dirs: string[] = [];
  const roots: string[] = [];
  const seen = new Set<string>();
  const out: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (!word.startsWith('-')) {
      if (command === null) {
        if (!(word in OPTIONS)) return null;
        command = word;
      } else dirs.push(word);
      continue;
    }
    if (!word.startsWith('--') || word === '--') return null;
    const eq = word.indexOf('=');
    let name = eq === -1 ? word.slice(2) : word.slice(2, eq);
    let value: string | boolean | undefined = eq === -1 ? undefined : word.slice(eq + 1);
    let negated = false;
    if (name.startsWith('no-') && value === undefined) {
      name = name.slice(3);
      negated = true;
    }
    // The command's options are known only once the command is: options before it take the
    // common table, whose names every fast command shares.
    const kind = (command === null ? COMMON : OPTIONS[command]!)[name];
    if (kind === undefined || seen.has(name)) return null;
    if (kind === 'boolean' || kind === 'negatable') {
      if (value !== undefined || (negated && kind !== 'negatable')) return null;
      value = !negated;
    } else {
      if (negated) return null;
      if (value === undefined) {
        value = argv[++i];
        if (value === undefined || value.startsWith('-')) return null;
      }
      if (value === '' || (kind === 'number' && !NUMBER.test(value))) return null;
    }
    if (name === 'root') roots.push(value as string);
    else {
      seen.add(name);
      out[name] = kind === 'number' ? Number(value) : value;
    }
  }
  if (command === null) return null;
  // Options given before the command must be options of the command too.
  for (const name of Object.keys(out)) if (!(name in OPTIONS[command]!)) return null;
  return {
    ...DEFAULTS[command],
    ...out,
    _: [command],
    ...(dirs.length === 0 ? {} : { dirs }),
    stores: (out.stores as string | undefined) ?? 'stores',
    ...(roots.length === 0 ? {} : { root: roots.length === 1 ? roots[0]! : roots }),
  } as Args;
}
