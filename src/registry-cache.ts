/**
 * A cache of validated registries, for processes that load the same registry folder again and
 * again (every `stores` command does). Validating a registry runs every baseline, migration, seed
 * and legacy sample in memory: 60-80 ms of a command's start-up for the shipped stores, the same
 * result each time for the same inputs. An entry is keyed by everything that result depends on:
 * the definitions read from the folder (every SQL text and setting, the folder's path), the code
 * of this package, the SQLite library and the Node.js version; any change to one of them is
 * another key, so an entry is never reused for anything else. Only registries that loaded without
 * a problem are written, and only those of SQL only (a JavaScript step cannot be stored).
 *
 * The cache is a folder of the current user's (created with mode 0700; one not owned by the user,
 * open to others or a symbolic link is not used). Whatever goes wrong — unwritable, corrupt,
 * unreadable — the registry is validated as without a cache.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import Database from 'better-sqlite3';
import type { Registry, StoreDefinition } from './types.js';

/** Entries kept: the oldest beyond these are removed when one is written. */
const KEEP = 32;
const FORMAT = 'stores-registry-cache-1';

/** The default cache folder: `$XDG_CACHE_HOME/stores`, else `~/.cache/stores`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(base, 'stores');
}

let codeFingerprint: string | null = null;

/** A hash of this package's own code (every module beside this one), computed once per process. */
function codeHash(): string {
  if (codeFingerprint) return codeFingerprint;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const ext = import.meta.url.endsWith('.ts') ? /(?<!\.d)\.ts$/ : /\.js$/;
  const hash = crypto.createHash('sha256');
  const files = (fs.readdirSync(here, { recursive: true }) as string[]).filter((f) => ext.test(f)).sort();
  for (const f of files) hash.update(f).update('\0').update(fs.readFileSync(path.join(here, f))).update('\0');
  codeFingerprint = hash.digest('hex');
  return codeFingerprint;
}

/** What SQLite the registry was validated with: its version and compile options. */
function sqliteFingerprint(): string {
  const db = new Database(':memory:');
  try {
    const version = db.prepare('SELECT sqlite_version()').pluck().get() as string;
    const options = db.pragma('compile_options', { simple: false }) as { compile_options: string }[];
    return `${version}|${options.map((o) => o.compile_options).join(',')}`;
  } finally {
    db.close();
  }
}

/** The key of a registry's entry, or null when it cannot be cached (a JavaScript step). */
export function cacheKey(defs: readonly StoreDefinition[], root: string): string | null {
  let data: Buffer;
  try {
    data = v8.serialize({ defs, root }); // throws for a function: such a registry is not cached
  } catch {
    return null;
  }
  return crypto
    .createHash('sha256')
    .update(`${FORMAT}\0${process.versions.node}\0${process.versions.v8}\0${sqliteFingerprint()}\0${codeHash()}\0`)
    .update(data)
    .digest('hex');
}

/** The cache folder when it is safe to use (creating it if absent), else null. */
function usableDir(dir: string): string | null {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.lstatSync(dir);
    const uid = typeof process.getuid === 'function' ? process.getuid() : null;
    if (!st.isDirectory() || (uid !== null && st.uid !== uid) || (process.platform !== 'win32' && (st.mode & 0o077) !== 0)) return null;
    return dir;
  } catch {
    return null;
  }
}

/** The registry stored under `key`, or null (absent, unreadable, not this key's, not a registry of these stores). */
export function readCached(dir: string, key: string, defs: readonly StoreDefinition[], root: string): Registry | null {
  const ok = usableDir(dir);
  if (!ok) return null;
  const file = path.join(ok, `${key}.v8`);
  try {
    const st = fs.lstatSync(file, { throwIfNoEntry: false });
    const uid = typeof process.getuid === 'function' ? process.getuid() : null;
    if (!st || !st.isFile() || (uid !== null && st.uid !== uid)) return null;
    const entry = v8.deserialize(fs.readFileSync(file)) as { format?: unknown; key?: unknown; registry?: Registry };
    const r = entry.registry;
    if (entry.format !== FORMAT || entry.key !== key || !r || r.source !== root || !Array.isArray(r.stores)) return null;
    if (r.stores.length !== defs.length || r.stores.some((s, i) => s.name !== defs[i]!.name)) return null;
    return r;
  } catch {
    return null;
  }
}

/** Stores a registry under `key` (written whole or not at all); failures are ignored. */
export function writeCached(dir: string, key: string, registry: Registry): void {
  const ok = usableDir(dir);
  if (!ok) return;
  const file = path.join(ok, `${key}.v8`);
  const tmp = path.join(ok, `.${key}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  try {
    fs.writeFileSync(tmp, v8.serialize({ format: FORMAT, key, registry }), { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, file);
    prune(ok);
  } catch {
    fs.rmSync(tmp, { force: true });
  }
}

/** Keeps the KEEP most recently written entries, and removes what a killed writer left (an hour on). */
function prune(dir: string): void {
  const names = fs.readdirSync(dir);
  const mtime = (f: string) => fs.statSync(path.join(dir, f), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const entries = names
    .filter((f) => /^[0-9a-f]{64}\.v8$/.test(f))
    .map((f) => ({ f, t: mtime(f) }))
    .sort((a, b) => b.t - a.t);
  for (const { f } of entries.slice(KEEP)) fs.rmSync(path.join(dir, f), { force: true });
  const stale = Date.now() - 3600_000;
  for (const f of names) if (/^\.[0-9a-f]{64}\.\d+\.[0-9a-f]{8}\.tmp$/.test(f) && mtime(f) < stale) fs.rmSync(path.join(dir, f), { force: true });
}
