/**
 * What every command of the CLI shares: the I/O it is given, the parsed arguments, the exit
 * codes, and loading the registry with the CLI's own advice.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RegistryError } from '../errors.js';
import { loadRegistry } from '../load.js';
import type { Registry } from '../types.js';

export interface CliIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Whether stdout is a terminal (colour). */
  readonly stdoutTTY: boolean;
  /** Whether stderr is a terminal (progress bar). */
  readonly stderrTTY?: boolean;
  /** Handle SIGINT/SIGTERM during up/adopt (the executable does; tests calling runCli need not). */
  readonly signals?: boolean;
}

export const EXIT = { ok: 0, failure: 1, usage: 2, pending: 3, refused: 4 } as const;

export interface Args {
  _: (string | number)[];
  dirs?: string[];
  /** One value per `--root`; repeated flags arrive as an array (see {@link values}). */
  root?: string | string[];
  stores: string;
  /** up/check/adopt: a D1 config file instead of data dirs. */
  d1?: string;
  create?: boolean;
  keep?: number;
  'older-than'?: string;
  json?: boolean;
  'dry-run'?: boolean;
  repair?: boolean;
  backup?: boolean;
  concurrency?: number;
  target?: string;
  html?: string;
  store?: string;
  name?: string;
  destructive?: string;
  out?: string;
  check?: boolean;
  /** import: what to import. */
  from?: string;
  'history-table'?: string;
  'history-column'?: string;
}

/** The values of a repeatable option: one per flag. */
export function values(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/**
 * Loads the registry; when the folder itself is wrong (missing, a file, one store's folder),
 * adds to the library's message the flag that names another one.
 */
export async function loadForCli(registryPath: string): Promise<Registry> {
  try {
    // STORES_CACHE=1 keeps the validated registry in the user's cache folder, STORES_CACHE=DIR in
    // DIR: validating it in memory is a quarter of a command's start-up. Off unless asked for: a
    // command writes nothing outside the data dirs and roots it is given.
    const setting = process.env.STORES_CACHE;
    return await loadRegistry(registryPath, { cache: setting === undefined || setting === '' || setting === '0' ? false : setting === '1' ? true : setting });
  } catch (err) {
    if (!(err instanceof RegistryError) || err.problems.length !== 1 || err.problems[0]!.store !== null || err.problems[0]!.file !== registryPath) throw err;
    const p = err.problems[0]!;
    const hint = fs.existsSync(path.join(registryPath, 'store.json')) ? `pass --stores ${path.dirname(registryPath)}` : 'pass --stores PATH';
    throw new RegistryError([{ ...p, message: `${p.message}; ${hint}` }]);
  }
}

export function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
