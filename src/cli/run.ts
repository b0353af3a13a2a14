/**
 * The command line: a thin yargs layer that validates input, calls the same library functions
 * hosts use, renders the report and returns the exit code. `runCli` never calls process.exit.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Argv } from 'yargs';
import { fastArgs } from './fast-args.js';
import { RegistryError, UsageError, messageOf } from '../errors.js';
import type { Registry, Store } from '../types.js';
import { describeRegistry, storeExitCode, type DirReport, type Mode, type Report, type StoreReport } from '../report.js';
import { listDirs, runFleet, SHORT_RUN, workersAhead } from '../fleet/run.js';
import { discardWaitingWorkers, prestartWorkers } from '../fleet/pool.js';
import { heapForRun } from './heap.js';
import { createStopFlag, requestStop, type StopFlag } from '../fleet/run-dir.js';
import type { DiscoveryProblem } from '../fleet/discover.js';
import Database from 'better-sqlite3';
import { inspect } from '../schema/inspect.js';
import { describeChange, diff } from '../schema/diff.js';
import { describeLeftOut } from '../schema/exclude.js';
import { detectColor, paint, renderReport, type Style } from './render.js';
import { ProgressBar } from './progress.js';
import { editDistance } from '../text.js';
import { EXIT, isDir, loadForCli, values, type Args, type CliIO } from './common.js';
import type { FileDiff } from '../engine/explain.js';

// The modules of the other commands (clean, import, generate, types, diff, verify, freeze, --html)
// are imported when their command runs: loading them all cost every `up` and `check` process
// about 20 ms of start-up.

/** An import refusal (src/import/source.ts), told apart without loading the importer. */
const isImportError = (err: unknown): err is Error => err instanceof Error && err.name === 'ImportError' && (err as { code?: unknown }).code === 'IMPORT_REFUSED';

export { EXIT, type CliIO } from './common.js';



/** The commands, for the unknown-command message. */
export const COMMANDS = ['up', 'check', 'adopt', 'diff', 'freeze', 'verify', 'clean', 'generate', 'types', 'import'] as const;

/** Options that take a value: the word after them is not the command. */
const VALUE_OPTIONS = new Set(['--stores', '--root', '--d1', '--concurrency', '--html', '--keep', '--older-than', '--name', '--destructive', '--out', '--store', '--history-table', '--history-column']);

/** Options that take one value and may be given once. */
const SINGLE_OPTIONS = ['stores', 'd1', 'concurrency', 'html', 'keep', 'older-than', 'name', 'destructive', 'out', 'store', 'history-table', 'history-column'] as const;

/** The version in package.json (two levels up from both src/cli and dist/cli). */
export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const EPILOGUE = `Exit codes:
  0  everything is current (after up: was made current)
  3  something needs up or adopt, nothing is refused (check, dry runs, adopt, up --no-create);
     clean --dry-run would remove something; generate --dry-run would write a migration,
     or generate wrote a skeleton to complete
  4  at least one store is refused (too-new, too-old, drift, conflict, foreign, corrupt, locked, error);
     clean skipped a data dir another process was working in; generate refused (nothing written)
  2  usage or registry error (nothing was touched)
  1  unexpected failure
  130/143  interrupted by SIGINT/SIGTERM during up/adopt (stores in flight finished, the rest untouched)

Environment: NO_COLOR turns colour off.`;


/** A command for yargs: usage (`up [dirs..]`), what it does, and the builder of its options. */
type CommandSpec = readonly [usage: string, describe: string, builder: (y: Argv) => Argv];

/** The yargs module's default export: imported only for a command line fast-args does not read. */
type Yargs = typeof import('yargs').default;

/** The arguments of up, check and adopt: the data dirs, and the options that say where they are and how many run at once. */
function fleetOptions(y: Argv) {
  return y
    .positional('dirs', { type: 'string', array: true, describe: 'data dirs' })
    // One value per flag (no `array: true`: it would swallow the positional data dirs that
    // follow); yargs collects repeated flags into an array.
    .option('root', { type: 'string', requiresArg: true, nargs: 1, describe: 'discover data dirs under ROOT (any depth; repeat the flag for more roots)' })
    .option('concurrency', { type: 'number', describe: 'data dirs handled at once, in worker threads (default: number of cores; with --d1, databases in flight, default 8)' })
    .option('d1', { type: 'string', requiresArg: true, nargs: 1, describe: 'Cloudflare D1 databases instead of files: a config file naming each dir\'s databases (run locally in Miniflare)' });
}

/** up, check and adopt: the commands that run over a fleet of data dirs (src/cli/fast-args.ts reads their usual lines). */
const FLEET_COMMANDS: readonly CommandSpec[] = [
  ['up [dirs..]', 'create, migrate or adopt every store; refuse what is unsafe', (y) =>
    fleetOptions(y)
      .option('dry-run', { type: 'boolean', describe: 'print the SQL plan per store, write nothing' })
      .option('repair', { type: 'boolean', describe: 'add what a drifted file lacks (never drops)' })
      .option('backup', { type: 'boolean', default: true, describe: 'back up before dropping tables holding rows (--no-backup skips)' })
      .option('create', { type: 'boolean', default: true, describe: 'create a missing data dir and missing store files (--no-create: create nothing, report what is missing, exit 3)' })
      .example('$0 up data/1.5.0', 'create or upgrade the stores of one data dir')
      .example('$0 up --root data --dry-run', 'show what up would run under data/, change nothing')
      .example('$0 up data/1.5.0 --repair', 'also add what a drifted file lacks')
      .example('$0 up --d1 d1.json', 'initialize or migrate the D1 databases d1.json names'),
  ],
  ['check [dirs..]', 'audit data dirs read-only: status of every store', (y) =>
    fleetOptions(y)
      .option('html', { type: 'string', describe: 'also write a self-contained HTML picture of the fleet to FILE' })
      .example('$0 check --root data --html fleet.html', 'a page with the grid of data dirs by stores, filters and reasons')
      .example('$0 check --root data', 'audit every data dir under data/')
      .example('$0 check data/1.5.0 --json | jq .summary', 'machine-readable summary')
      .example('$0 check --d1 d1.json --html d1.html', 'audit D1 databases, with the same page'),
  ],
  ['adopt [dirs..]', 'adopt legacy (user_version 0) files; report the rest untouched', (y) =>
    fleetOptions(y)
      .option('dry-run', { type: 'boolean', describe: 'print the adoption plan, write nothing' })
      .option('backup', { type: 'boolean', default: true, describe: 'back up before dropping dead tables holding rows (--no-backup skips)' })
      .example('$0 adopt --root data --dry-run', 'show the renames and drops adoption would run'),
  ],
];

/** The other commands: on the registry (freeze, generate, import, verify, types), on files (diff) and on leftovers (clean). */
const OTHER_COMMANDS: readonly CommandSpec[] = [
  ['diff <target>', 'show how a file (or every store of a data dir) differs from what its version must be', (y) =>
    y.positional('target', { type: 'string', describe: 'a store file or a data dir' }).example('$0 diff data/1.5.0/objects.db', 'explain a drift'),
  ],
  ['freeze <store>', 'record the schema of the version being released (versions/NNN.sql)', (y) =>
    y.positional('store', { type: 'string', describe: 'store name' }).example('$0 freeze objects', 'before releasing: stores/objects/versions/004.sql'),
  ],
  ['clean [dirs..]', 'remove leftovers of interrupted runs; with --keep/--older-than, old backups', (y) =>
    y
      .positional('dirs', { type: 'string', array: true, describe: 'data dirs' })
      .option('root', { type: 'string', requiresArg: true, nargs: 1, describe: 'clean every data dir under ROOT (any depth; repeat the flag for more roots)' })
      .option('keep', { type: 'number', requiresArg: true, nargs: 1, describe: 'keep the N newest backups of each store file, remove older ones' })
      .option('older-than', { type: 'string', requiresArg: true, nargs: 1, describe: 'remove backups older than DURATION (e.g. 7d, 12h, 30m); with --keep, only those beyond the N newest' })
      .option('dry-run', { type: 'boolean', describe: 'list what would be removed, remove nothing' })
      .example('$0 clean --root data', 'remove the .partial and .stores-new-* files interrupted runs left')
      .example('$0 clean --root data --keep 3 --older-than 30d', 'also remove backups beyond the 3 newest that are over 30 days old'),
  ],
  ['generate <store>', 'write the next migration from the edited schema.sql, proven by verify', (y) =>
    y
      .positional('store', { type: 'string', describe: 'store name' })
      .option('name', { type: 'string', requiresArg: true, nargs: 1, describe: 'what the step does, for its file name (migrations/NNN-<name>.sql)' })
      .option('destructive', { type: 'string', requiresArg: true, nargs: 1, describe: 'allow drops, saying why (written as -- stores:destructive WHY)' })
      .option('dry-run', { type: 'boolean', describe: 'print the migration, write nothing' })
      .example('$0 generate objects --dry-run', 'print the migration schema.sql asks for')
      .example('$0 generate objects --name client-tags', 'write stores/objects/migrations/005-client-tags.sql and bump version')
      .example('$0 generate objects --destructive "legacy_code is read by nothing since 1.3"', 'allow the drops, declared'),
  ],
  ['import <from>', 'bring an app\'s history into the registry once: numbered SQL files, a drizzle-kit folder or a database file', (y) =>
    y
      .positional('from', { type: 'string', describe: 'a folder of numbered SQL files, a drizzle-kit migrations folder (meta/_journal.json), or a database file' })
      .option('store', { type: 'string', requiresArg: true, nargs: 1, describe: 'the store name (default: the folder name, or the file name without its extension)' })
      .option('history-table', { type: 'string', requiresArg: true, nargs: 1, describe: 'numbered SQL files: the table your migration runner records applied files in (writes a legacy.history entry)' })
      .option('history-column', { type: 'string', requiresArg: true, nargs: 1, describe: 'the column of --history-table holding the file name (default: name)' })
      .example('$0 import drizzle --store app', 'stores/app/ from a drizzle-kit folder, with the drizzle history and its map')
      .example('$0 import db/migrations --store relay --history-table _migrations', 'numbered SQL files your own runner records in _migrations')
      .example('$0 import data/app.db', 'the baseline of a live file at its version'),
  ],
  ['verify', 'prove the registry in memory: fresh, every migration path, every legacy sample', (y) =>
    y.example('$0 verify --stores stores', 'run before releasing a new version'),
  ],
  ['types', 'TypeScript declarations from the baselines: row interfaces, tables, store names', (y) =>
    y
      .option('out', { type: 'string', requiresArg: true, nargs: 1, describe: 'write the declarations to FILE (a .ts module; default: stdout)' })
      .option('check', { type: 'boolean', describe: 'with --out: write nothing; exit 3 when FILE is not what would be written (CI)' })
      .example('$0 types --out src/stores.gen.ts', 'regenerate the declarations (same schemas, same bytes)')
      .example('$0 types --out src/stores.gen.ts --check', 'in CI: fail (exit 3) when they are stale'),
  ],
];

/** Every command, in the order of the help text. */
const COMMAND_SPECS: readonly CommandSpec[] = [...FLEET_COMMANDS, ...OTHER_COMMANDS];

/**
 * The yargs parser: every command (for help, and for anything unusual), or only the command
 * `only` (the usual run: the command word already taken out of `argv`).
 */
function build(yargs: Yargs, argv: readonly string[], width: number, only: string | null = null) {
  const y = yargs([...argv]).scriptName('stores').option('stores', { type: 'string', default: 'stores', describe: 'registry folder', global: true }).option('json', { type: 'boolean', describe: 'print one JSON document on stdout, nothing else', global: true }).strict().wrap(Math.min(100, width)).exitProcess(false);
  if (only !== null) {
    // One command, given as yargs' default command: yargs then skips rendering the whole help
    // text, which it otherwise does on every run of a named command (about 30 ms per process).
    const spec = COMMAND_SPECS.find(([usage]) => usage.split(' ')[0] === only)!;
    return y.version(false).help(false).command(`$0${spec[0].slice(only.length)}`, spec[1], spec[2]);
  }
  return withEveryCommand(y);
}

/** The whole parser, for help and for anything unusual: every command, the examples, help, version and the exit codes. */
function withEveryCommand<T>(y: Argv<T>) {
  let all = y.usage('$0 <command> [options]\n\nKeep the SQLite stores of an application correct across versions.');
  for (const [usage, describe, builder] of COMMAND_SPECS) all = all.command(usage, describe, builder);
  return all
    .example('$0 check --root data', 'audit every data dir under data/ (read-only)')
    .example('$0 up data/1.5.0', 'create or upgrade the stores of one data dir')
    .example('$0 adopt --root data --dry-run', 'show how legacy files would be adopted')
    .example('$0 diff data/1.5.0/objects.db', 'explain how a file differs from its version')
    .example('$0 verify', 'prove the registry in memory before a release')
    .demandCommand(1, `name a command: ${COMMANDS.join(', ')}`)
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version('version', 'print the version of stores', packageVersion())
    .alias('v', 'version')
    .epilogue(EPILOGUE);
}

/** Parses and runs one command line. Returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  const wantsJson = argv.includes('--json');
  // `stores help` is `stores --help`.
  if (commandWord(argv) === 'help') {
    const i = argv.indexOf('help');
    argv = [...argv.slice(0, i), '--help', ...argv.slice(i + 1)];
  }
  const unknown = unknownCommand(argv);
  if (unknown) return fail(io, wantsJson, new UsageError(unknown));
  // The usual command line is read without yargs (src/cli/fast-args.ts); anything else by yargs.
  const parsedFast = fastArgs(argv);
  const viaYargs = parsedFast ? null : await parseWithYargs(argv);
  if (viaYargs && 'error' in viaYargs) return fail(io, wantsJson, new UsageError(messageOf(viaYargs.error)));
  if (viaYargs && 'help' in viaYargs) {
    io.stdout(viaYargs.help.endsWith('\n') ? viaYargs.help : `${viaYargs.help}\n`);
    return EXIT.ok;
  }
  const args = parsedFast ?? (viaYargs as { args: Args }).args;
  try {
    return await dispatch(args, io, argv);
  } catch (err) {
    return fail(io, args.json === true, err);
  }
}

/** The command line as yargs reads it: the arguments, the help or version text asked for, or the error. */
export async function parseWithYargs(argv: readonly string[]): Promise<{ args: Args } | { help: string } | { error: Error }> {
  const { default: yargs } = await import('yargs');
  let parsed: Args | null = null;
  let helpText = '';
  let parseError: Error | null = null;
  try {
    // A named command without help: parse it alone (see build).
    const at = commandIndex(argv);
    const word = at === null ? null : argv[at]!;
    const fast = word !== null && (COMMANDS as readonly string[]).includes(word) && !argv.some((a) => a === '--' || HELP_OR_VERSION.has(a));
    const words = fast ? [...argv.slice(0, at!), ...argv.slice(at! + 1)] : [...argv];
    build(yargs, words, 100, fast ? word : null).parse(words, {}, (err: Error | undefined, a: unknown, output: string) => {
      if (err) parseError = err;
      parsed = (fast ? { ...(a as Args), _: [word, ...(a as Args)._] } : a) as Args;
      helpText = output;
    });
  } catch (err) {
    parseError = err as Error;
  }
  if (parseError) return { error: parseError };
  if (helpText) return { help: helpText };
  return { args: parsed! };
}

const HELP_OR_VERSION = new Set(['--help', '-h', '--version', '-v']);

/** The first word that is neither an option nor an option's value: the command. */
function commandWord(argv: readonly string[]): string | null {
  const i = commandIndex(argv);
  return i === null ? null : argv[i]!;
}

/** Where the command word stands in `argv`, or null. */
function commandIndex(argv: readonly string[]): number | null {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return i + 1 < argv.length ? i + 1 : null;
    if (a.startsWith('-')) {
      if (VALUE_OPTIONS.has(a)) i++;
      continue;
    }
    return i;
  }
  return null;
}

/** The message for a word that names no command (with the closest command), or null. */
function unknownCommand(argv: readonly string[]): string | null {
  const word = commandWord(argv);
  if (word === null || (COMMANDS as readonly string[]).includes(word)) return null;
  const scored = COMMANDS.map((c) => ({ c, d: editDistance(word.toLowerCase(), c) })).sort((a, b) => a.d - b.d);
  const best = scored[0]!;
  const hint = best.d <= Math.max(1, Math.floor(word.length / 2)) ? `did you mean '${best.c}'?` : `the commands are ${COMMANDS.join(', ')}`;
  return `unknown command '${word}'; ${hint}`;
}


/** Options that take one value may not be given twice (yargs would hand over an array). */
function checkSingles(args: Args): void {
  // The data dirs are the words after the command: `--dirs x` would hand them over as one string.
  if (args.dirs !== undefined && !Array.isArray(args.dirs)) {
    throw new UsageError(`--dirs is not an option: name the data dirs after the command (stores ${String(args._[0])} data/1.5.0), or give --root`);
  }
  for (const name of SINGLE_OPTIONS) {
    const v = (args as unknown as Record<string, unknown>)[name];
    if (Array.isArray(v)) throw new UsageError(`--${name} is given ${v.length} times; give it once`);
  }
}

function fail(io: CliIO, json: boolean, err: unknown): number {
  const code = err instanceof RegistryError || err instanceof UsageError || isImportError(err) ? EXIT.usage : EXIT.failure;
  if (json) {
    const body: Record<string, unknown> = { code: (err as { code?: string }).code ?? 'UNEXPECTED', message: messageOf(err) };
    if (err instanceof RegistryError) body.problems = err.problems;
    io.stdout(`${JSON.stringify({ error: body }, null, 2)}\n`);
    return code;
  }
  if (err instanceof UsageError) io.stderr(`stores: ${err.message}\nRun 'stores --help' for usage.\n`);
  else if (err instanceof RegistryError || isImportError(err)) io.stderr(`stores: ${err.message}\n`);
  else {
    io.stderr(`stores: unexpected failure: ${messageOf(err)}\n`);
    if (io.env.STORES_DEBUG) io.stderr(`${(err as Error)?.stack ?? ''}\n`);
    else io.stderr('Set STORES_DEBUG=1 for the stack trace, and report it.\n');
  }
  return code;
}

/** The text typed for an option (its last occurrence: `--name value` or `--name=value`), as the parsers saw it before reading it as a number. */
function typedValue(argv: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  argv.forEach((a, i) => {
    if (a === name && i + 1 < argv.length) value = argv[i + 1];
    else if (a.startsWith(`${name}=`)) value = a.slice(name.length + 1);
  });
  return value;
}

/** Runs one parsed command line: the checks every command shares, then the command's own run. */
async function dispatch(args: Args, io: CliIO, argv: readonly string[]): Promise<number> {
  checkSingles(args);
  const command = String(args._[0]);
  const style: Style = { color: !args.json && detectColor(io.env, io.stdoutTTY) };
  const registryPath = path.resolve(io.cwd, args.stores);
  if (['up', 'check', 'adopt'].includes(command)) return runFleetCommand(command as Mode, args, io, argv, registryPath, style);
  if (command === 'clean') return (await import('./clean.js')).runClean(args, io, registryPath, style);
  if (command === 'import') return (await import('./import.js')).runImport(args, io, registryPath, style);
  if (command === 'diff') return runDiff(args, io, registryPath, style);
  if (command === 'verify') return runVerify(args, io, registryPath, style);
  if (command === 'freeze') return runFreeze(args, io, registryPath);
  if (command === 'generate') return (await import('./generate.js')).runGenerate(args, io, registryPath, style);
  if (command === 'types') return (await import('./types.js')).runTypes(args, io, registryPath);
  throw new UsageError(`unknown command ${command}`);
}

/**
 * `up`, `check` or `adopt` over data dirs (or D1 databases): checks the arguments before anything
 * is read, runs the fleet with a progress bar, signals handled and --json streamed, prints the
 * report and returns the exit code (130/143 when a signal stopped it).
 */
async function runFleetCommand(command: Mode, args: Args, io: CliIO, argv: readonly string[], registryPath: string, style: Style): Promise<number> {
  checkFleetOptions(command, args, argv);
  // Loaded only when asked for: a run over files pays nothing for the D1 driver.
  if (args.d1 !== undefined) return (await import('./d1.js')).runD1(command, args, io, registryPath, style);
  const { dirs, roots } = fleetTargets(command, args, io);
  // A short run's workers start while the registry loads and the roots are listed (on another core).
  prestartWorkers(workersAhead(dirs, roots, args.concurrency));
  try {
    return await runFleetOver(command, args, io, registryPath, style, { dirs, roots });
  } finally {
    await discardWaitingWorkers();
  }
}

/** The fleet command's run over files, once its arguments are checked. */
async function runFleetOver(command: Mode, args: Args, io: CliIO, registryPath: string, style: Style, { dirs, roots }: { dirs: string[]; roots: string[] }): Promise<number> {
  const registry = await loadForCli(registryPath);
  const create = command === 'up' && args.create !== false;
  // Data dirs `up` is about to create: said in the human output (a mistyped path shows).
  const absent = command === 'up' ? dirs.filter((d) => !fs.existsSync(d)) : [];
  const progress = !args.json && io.stderrTTY ? new ProgressBar(io.stderr, io.env, command) : null;
  const stop = createStopFlag();
  const signals = watchSignals(io, stop, progress, command !== 'check' && args['dry-run'] !== true);
  const stream = args.json === true && !args.html ? jsonStream(io, registry) : null;
  let code: 0 | 3 | 4 = 0;
  const onProblem = (p: DiscoveryProblem) => {
    if (!args.json) io.stderr(`stores: skipped ${p.path}: ${p.message}\n`);
  };
  const list = listDirs(registry, dirs, roots, onProblem);
  // A long run: this thread works throughout, and keeps its heap small (src/cli/heap.ts).
  heapForRun(list.length > SHORT_RUN);
  let report;
  try {
    report = await runFleet(registry, list, [], {
      retain: !stream,
      shareThisThread: true,
      onDir: (d) => {
        for (const st of d.stores) code = Math.max(code, storeExitCode(st, command), command === 'up' && !create && uncreated(st) ? EXIT.pending : 0) as 0 | 3 | 4;
        stream?.dir(d);
      },
      mode: command,
      dryRun: args['dry-run'] === true,
      repair: args.repair === true,
      backup: args.backup !== false,
      create: command === 'up' ? create : undefined,
      concurrency: args.concurrency,
      stop,
      onProgress: progress ? (p) => progress.update(p) : undefined,
    });
  } finally {
    progress?.done();
    signals.off();
  }
  await printFleetReport(report, { mode: command, args, io, style, registry, absent, create, stream });
  const signal = signals.received();
  return signal ? interrupted(io, command, signal, report.summary) : code;
}

/** Tells what a run a signal stopped changed and left, and returns its exit code (130/143). */
function interrupted(io: CliIO, command: Mode, signal: NodeJS.Signals, summary: Report['summary']): number {
  const acts = summary.byAction ?? {};
  const changed = Object.entries(acts).filter(([a]) => !['unchanged', 'refused', 'planned'].includes(a)).reduce((n, [, k]) => n + (k ?? 0), 0);
  const left = summary.notReached?.length ?? 0;
  io.stderr(`stores: interrupted by ${signal}: ${changed} store${changed === 1 ? '' : 's'} changed, each committed whole; ${left} data dir${left === 1 ? '' : 's'} not reached and left as they were; run \`stores ${command}\` again to finish\n`);
  return signal === 'SIGINT' ? 130 : 143;
}

/** The options of `up`, `check` and `adopt` that are wrong whatever the data dirs (or D1 databases) are. */
function checkFleetOptions(command: Mode, args: Args, argv: readonly string[]): void {
  if (args.concurrency !== undefined && (!Number.isInteger(args.concurrency) || args.concurrency < 1)) {
    throw new UsageError(`--concurrency takes a whole number ≥ 1, got ${JSON.stringify(typedValue(argv, '--concurrency') ?? String(args.concurrency))}`);
  }
  if (args.repair && args['dry-run'] === undefined && command !== 'up') throw new UsageError('--repair goes with up');
}

/**
 * The data dirs and roots named, as absolute paths, refused before the registry is loaded: none
 * named, a root that is no directory, a data dir that is a file (or, but for `up`, absent).
 */
function fleetTargets(command: Mode, args: Args, io: CliIO): { dirs: string[]; roots: string[] } {
  const dirs = (args.dirs ?? []).map((d) => path.resolve(io.cwd, d));
  const roots = values(args.root).map((r) => path.resolve(io.cwd, r));
  if (dirs.length === 0 && roots.length === 0) throw new UsageError(`name at least one data dir or --root (e.g. stores ${command} data/1.5.0)`);
  for (const r of roots) {
    if (!isDir(r)) throw new UsageError(`--root ${r}: no such directory`);
  }
  if (command !== 'up') {
    for (const d of dirs) if (!isDir(d)) throw new UsageError(`${d}: no such data dir (${command} never creates one; up does)`);
  } else {
    for (const d of dirs) if (fs.existsSync(d) && !isDir(d)) throw new UsageError(`${d} is a file, not a data dir; name the directory that holds the store files`);
  }
  return { dirs, roots };
}

/**
 * SIGINT/SIGTERM during a run that writes (with `writes`, when `io.signals` says the CLI owns
 * the process): the stores in flight finish (commit or roll back), the rest are left as they
 * are; a second signal quits at once (each store is one transaction). `received` is the first
 * signal, if any; `off` stops listening.
 */
function watchSignals(io: CliIO, stop: StopFlag, progress: ProgressBar | null, writes: boolean): { received: () => NodeJS.Signals | null; off: () => void } {
  let signal: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signal) {
      io.stderr(`\nstores: second ${sig}: quitting now; every store is left at its old or its new state\n`);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    signal = sig;
    requestStop(stop);
    progress?.done();
    io.stderr(`\nstores: ${sig}: finishing the stores in flight, leaving the others as they are (${sig} again quits at once)\n`);
  };
  if (writes && io.signals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  return {
    received: () => signal,
    off: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Writes a fleet's --json as it runs: the document's start now, then each data dir, then the end. */
interface JsonStream {
  readonly dir: (d: DirReport) => void;
  readonly end: (summary: Report['summary']) => void;
}

/**
 * --json streams one data dir per line as results come in, so memory stays flat on huge fleets;
 * the document is the same as the library's report. Its start is written at once.
 */
function jsonStream(io: CliIO, registry: Registry): JsonStream {
  let first = true;
  io.stdout(`{\n  "registry": ${JSON.stringify(describeRegistry(registry))},\n  "dirs": [`);
  return {
    dir: (d) => {
      io.stdout(`${first ? '\n' : ',\n'}    ${JSON.stringify(d)}`);
      first = false;
    },
    end: (summary) => io.stdout(`${first ? '' : '\n  '}],\n  "summary": ${JSON.stringify(summary)}\n}\n`),
  };
}

/** What printFleetReport needs of the run it prints. */
interface FleetOutput {
  readonly mode: Mode;
  readonly args: Args;
  readonly io: CliIO;
  readonly style: Style;
  readonly registry: Registry;
  /** The data dirs `up` found absent before the run. */
  readonly absent: readonly string[];
  readonly create: boolean;
  readonly stream: JsonStream | null;
}

/**
 * Prints a fleet run's report: the --html page if asked for, then the end of the streamed JSON,
 * the whole JSON document, or the human report with the data dirs `up` created (or would have,
 * or did not: --no-create).
 */
async function printFleetReport(report: Report, { mode, args, io, style, registry, absent, create, stream }: FleetOutput): Promise<void> {
  if (args.html) {
    const out = path.resolve(io.cwd, args.html);
    const { renderHtml } = await import('./html.js');
    fs.writeFileSync(out, renderHtml(report, new Date()));
    if (!args.json) io.stderr(`stores: wrote ${out}\n`);
  }
  if (stream) stream.end(report.summary);
  else if (args.json) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  else {
    for (const d of absent) {
      if (isDir(d)) io.stdout(`created data dir ${d}\n`);
      else if (create && args['dry-run'] === true) io.stdout(`would create data dir ${d}\n`);
      else if (!create) io.stderr(`stores: no data dir ${d}; nothing created (--no-create)\n`);
    }
    if (report.dirs.length === 0) io.stderr(`stores: no data dir found (a data dir holds at least one of ${registry.stores.map((s) => s.file).join(', ')})\n`);
    io.stdout(renderReport(report, mode, style, { dryRun: args['dry-run'] === true }));
  }
}


/**
 * A store `up --no-create` left missing: it still needs `up` (exit 3). Only with --no-create: an
 * ordinary `up` that finds a store missing and then finds it created by another process reports
 * it `missing`, `unchanged` too.
 */
function uncreated(st: StoreReport): boolean {
  return st.status === 'missing' && st.action === 'unchanged';
}


async function runDiff(args: Args, io: CliIO, registryPath: string, style: Style): Promise<number> {
  const target = path.resolve(io.cwd, args.target!);
  const registry = await loadForCli(registryPath);
  let pairs: [Store, string][];
  if (isDir(target)) {
    pairs = registry.stores.map((s) => [s, path.join(target, s.file)]);
  } else {
    const store = registry.stores.find((s) => s.file === path.basename(target));
    if (!store) throw new UsageError(`${target}: no store of the registry uses the file name ${path.basename(target)} (known: ${registry.stores.map((s) => s.file).join(', ')})`);
    if (!fs.existsSync(target)) throw new UsageError(`${target}: no such file`);
    pairs = [[store, target]];
  }
  const { diffFile } = await import('../engine/explain.js');
  const diffs = pairs.map(([s, f]) => diffFile(s, f));
  if (args.json) io.stdout(`${JSON.stringify({ files: diffs }, null, 2)}\n`);
  else io.stdout(diffs.map((d) => renderDiff(d, style)).join('\n'));
  return diffs.some((d) => d.changes.length > 0) ? EXIT.pending : EXIT.ok;
}

function renderDiff(d: FileDiff, style: Style): string {
  const lines = [`${paint(style, 'bold', d.file)} (${d.store}, ${d.status}${d.version !== null ? `, user_version ${d.version}` : ''})`];
  if (d.comparedWith === null) lines.push(`  ${d.message}`);
  else if (d.changes.length === 0) lines.push(`  no difference from v${d.comparedWith}`);
  else {
    lines.push(`  compared with v${d.comparedWith}:`);
    for (const c of d.changes) lines.push(`  ${paint(style, c.change === 'missing' ? 'red' : c.change === 'extra' ? 'yellow' : 'magenta', c.change === 'missing' ? '-' : c.change === 'extra' ? '+' : '~')} ${describeChange(c)}`);
  }
  for (const l of d.ignored) lines.push(`  ${paint(style, 'gray', `= ignored ${describeLeftOut(l)}`)}`);
  return lines.join('\n') + '\n';
}

async function runVerify(args: Args, io: CliIO, registryPath: string, style: Style): Promise<number> {
  const registry: Registry = await loadForCli(registryPath);
  const { verifyRegistry } = await import('../verify.js');
  const result = verifyRegistry(registry);
  if (args.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  else {
    const lines: string[] = [];
    for (const s of result.stores) {
      lines.push(paint(style, 'bold', s.name));
      for (const c of s.checks) lines.push(`  ${c.ok ? paint(style, 'green', '✓') : paint(style, 'red', '✗')} ${c.name}${c.ok ? '' : `\n      ${c.detail}`}`);
    }
    const n = result.stores.reduce((a, s) => a + s.checks.length, 0);
    const bad = result.stores.reduce((a, s) => a + s.checks.filter((c) => !c.ok).length, 0);
    lines.push('', bad === 0 ? `registry ${registryPath} verified: ${n} checks passed` : `registry ${registryPath}: ${bad} of ${n} checks failed`);
    io.stdout(lines.join('\n') + '\n');
  }
  return result.ok ? EXIT.ok : EXIT.usage;
}

async function runFreeze(args: Args, io: CliIO, registryPath: string): Promise<number> {
  const registry = await loadForCli(registryPath);
  const store = registry.stores.find((s) => s.name === args.store);
  if (!store) throw new UsageError(`no store named ${args.store} (known: ${registry.stores.map((s) => s.name).join(', ')})`);
  const file = path.join(registryPath, store.name, 'versions', `${String(store.version).padStart(3, '0')}.sql`);
  const existing = store.frozen.get(store.version);
  let result: { store: string; version: number; file: string; action: 'frozen' | 'unchanged' };
  if (existing !== undefined) {
    const db = new Database(':memory:');
    let changes: string[];
    try {
      db.exec(existing);
      changes = diff(store.expect.snapshots.get(store.version)!, inspect(db)).map(describeChange);
    } finally {
      db.close();
    }
    if (changes.length > 0) {
      throw new RegistryError([
        { store: store.name, file, message: `version ${store.version} is already frozen with a different schema (${changes.join('; ')}): a released version never changes — bump the version and add a migration` },
      ]);
    }
    result = { store: store.name, version: store.version, file, action: 'unchanged' };
  } else {
    const { frozenText } = await import('../verify.js');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, frozenText(store, new Date()));
    result = { store: store.name, version: store.version, file, action: 'frozen' };
  }
  if (args.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  else io.stdout(result.action === 'frozen' ? `froze ${store.name} v${store.version} → ${file}\n` : `${store.name} v${store.version} is already frozen (${file}); nothing to do\n`);
  return EXIT.ok;
}
