/**
 * The D1 config file (`stores up --d1 d1.json`): which D1 databases make up each "data dir" of a
 * fleet on Cloudflare D1, and where Miniflare keeps them on this machine. Plain data in, plain
 * data out: reading it opens nothing (src/d1/local.ts starts the runtime).
 *
 *   {
 *     "persist": ".wrangler/state/v3/d1",
 *     "dirs": {
 *       "acme":   { "objects": "ACME_OBJECTS", "filestore": "ACME_FILESTORE", "sagas": "ACME_SAGAS" },
 *       "globex": { "objects": { "binding": "GLOBEX_OBJECTS", "id": "6f1c…" }, … }
 *     }
 *   }
 *
 * A dir names one database per store of the registry (one store per database: the version row
 * is the database's); a database is a binding name, or a binding with the database id Miniflare
 * keys its file by (wrangler.toml's `database_id`).
 */
import fs from 'node:fs';
import path from 'node:path';
import * as v from 'valibot';
import type { Registry } from '../types.js';

/** The config file is not what `--d1` expects; nothing was opened. */
export class D1ConfigError extends Error {
  override readonly name = 'D1ConfigError';
  readonly code = 'D1_CONFIG_INVALID';
  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.file = file;
  }
}

/** One database of a D1 fleet: the binding it is reached by, and the id Miniflare keys it by. */
export interface D1DatabaseRef {
  readonly binding: string;
  readonly id: string;
}

export interface D1Config {
  /** Absolute: the folder Miniflare keeps the databases in (`d1Persist`). */
  readonly persist: string;
  readonly dirs: readonly { readonly name: string; readonly databases: Readonly<Record<string, D1DatabaseRef>> }[];
}

const BINDING = /^[A-Za-z_][A-Za-z0-9_]*$/;
const Binding = v.pipe(v.string(), v.regex(BINDING, 'a binding name is letters, digits and _, not starting with a digit'));
const Database = v.union([Binding, v.strictObject({ binding: Binding, id: v.pipe(v.string(), v.minLength(1)) })]);
const Schema = v.strictObject({
  $schema: v.optional(v.string()),
  persist: v.pipe(v.string(), v.minLength(1)),
  dirs: v.record(v.pipe(v.string(), v.minLength(1)), v.record(v.string(), Database)),
});

function where(issue: v.BaseIssue<unknown>): string {
  const keys = (issue.path ?? []).map((p) => String((p as { key: unknown }).key));
  return keys.length > 0 ? keys.join('.') : 'the file';
}

/** Reads and checks a D1 config file against the registry's stores. Throws {@link D1ConfigError}. */
export function readD1Config(file: string, registry: Registry): D1Config {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new D1ConfigError(file, e.code === 'ENOENT' ? 'no such file; write one naming the D1 databases of each dir (see the README, "Beyond one machine")' : `not readable JSON (${e.message})`);
  }
  const parsed = v.safeParse(Schema, raw);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    throw new D1ConfigError(file, `${where(issue)}: ${issue.message}; expected { "persist": FOLDER, "dirs": { NAME: { STORE: BINDING, … } } }`);
  }
  const names = registry.stores.map((s) => s.name);
  const seen = new Map<string, string>();
  const dirs = Object.entries(parsed.output.dirs).map(([name, dbs]) => {
    const databases: Record<string, D1DatabaseRef> = {};
    for (const [store, ref] of Object.entries(dbs)) {
      if (!names.includes(store)) throw new D1ConfigError(file, `dirs.${name}.${store}: the registry has no store ${store} (its stores: ${names.join(', ')})`);
      const db = typeof ref === 'string' ? { binding: ref, id: ref } : ref;
      const other = seen.get(db.binding);
      if (other) throw new D1ConfigError(file, `dirs.${name}.${store}: binding ${db.binding} is already ${other}'s; each store of each dir needs a database of its own`);
      seen.set(db.binding, `${name}.${store}`);
      databases[store] = db;
    }
    const lacking = names.filter((n) => !(n in databases));
    if (lacking.length > 0) throw new D1ConfigError(file, `dirs.${name} names no database for ${lacking.join(', ')}; add ${lacking.map((n) => `"${n}": "${name.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}_${n.toUpperCase()}"`).join(', ')}`);
    return { name, databases };
  });
  if (dirs.length === 0) throw new D1ConfigError(file, 'dirs is empty; name at least one dir and its databases');
  return { persist: path.resolve(path.dirname(file), parsed.output.persist), dirs };
}
