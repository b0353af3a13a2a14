/**
 * `stores generate`: writes the migration from the schema a store's current version stands for
 * to its edited `schema.sql` (computed by src/engine/generate.ts), proves it with `verify` in
 * memory before writing anything, then writes `migrations/NNN-<what>.sql`, bumps `version` in
 * `store.json` (only that value changes in the file) and proves the registry as loaded from disk.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RegistryError } from './errors.js';
import { createRegistry } from './load.js';
import { readRegistryFolder } from './registry/load.js';
import { schemaAt } from './engine/expect.js';
import { generate, GenerateInputError, type Refusal } from './engine/generate.js';
import type { Store, StoreDefinition } from './types.js';
import { verifyRegistry, type VerifyCheck } from './verify.js';

export type { Refusal } from './engine/generate.js';

export interface GenerateOptions {
  /** What the step does, for its file name (`NNN-<name>.sql`); derived from the changes when absent. */
  readonly name?: string;
  /** Why the drops are wanted (written as `-- stores:destructive <why>`). */
  readonly destructive?: string;
  /** Compute and prove, write nothing. */
  readonly dryRun?: boolean;
  readonly now?: Date;
}

export interface GenerateResult {
  readonly store: string;
  /** The store's version before. */
  readonly from: number;
  /** The version the migration brings files to (null when nothing is to be written). */
  readonly to: number | null;
  /** `written`, `planned` (dry run), `unchanged`, `skeleton` (written, to complete), `refused`. */
  readonly action: 'written' | 'planned' | 'unchanged' | 'skeleton' | 'refused';
  /** The migration file (written or that would be). */
  readonly file: string | null;
  readonly sql: string | null;
  /** What the migration does, one line per change. */
  readonly summary: readonly string[];
  readonly refusals: readonly Refusal[];
  readonly notes: readonly string[];
  /** The checks of `verify` on the result (null when not run: nothing to do, refused, skeleton). */
  readonly verify: readonly VerifyCheck[] | null;
}

const SLUG = /[^a-z0-9]+/g;

/** A file-name part from a name or the changes: `wallets-add-tags`. */
export function slug(text: string): string {
  return text.toLowerCase().replace(/"/g, '').replace(SLUG, '-').replace(/^-+|-+$/g, '').slice(0, 48).replace(/-+$/, '') || 'change';
}

function derivedName(summary: readonly string[]): string {
  // Named after the first change to a table (the indexes, triggers and views around it follow).
  const first = summary.find((l) => !/^(drop|create) (index|view|trigger) /.test(l)) ?? summary[0] ?? 'change';
  const m = /^ALTER TABLE "?([^" ]+)"? (ADD|DROP|RENAME) (?:COLUMN )?"?([^" ]+)?/i.exec(first);
  const base = m ? `${m[1]}-${m[2]!.toLowerCase()}-${m[3] ?? ''}` : first.replace(/\(.*$/, '');
  return slug(summary.length > 1 ? `${base}-and-more` : base);
}

/**
 * `store.json` with `version` set to `to` (and `minVersion` written out when it was implied by
 * `version`): the rest of the file, its order and its spacing, as they were.
 */
export function bumpStoreJson(text: string, to: number, minVersion: number | null): string {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      const end = endOfString(text, i);
      if (depth === 1 && text.slice(i, end) === '"version"') {
        const m = /^(\s*:\s*)(\d+)/.exec(text.slice(end));
        if (!m) break;
        const valueEnd = end + m[0].length;
        const indent = /\n([ \t]*)[^\n]*$/.exec(text.slice(0, i))?.[1] ?? '  ';
        const extra = minVersion === null ? '' : `,\n${indent}"minVersion": ${minVersion}`;
        return `${text.slice(0, end)}${m[1]}${to}${extra}${text.slice(valueEnd)}`;
      }
      i = end - 1;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  throw new Error('store.json has no top-level "version" number');
}

function endOfString(text: string, i: number): number {
  let j = i + 1;
  while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
  return j + 1;
}

function storeProblem(store: string, file: string | null, message: string): RegistryError {
  return new RegistryError([{ store, file, message }]);
}

/** The definition of the store at `to`, with the generated step: what verify proves before writing. */
function nextDefinition(def: StoreDefinition, store: Store, to: number, file: string, sql: string): StoreDefinition {
  return {
    ...def,
    version: to,
    minVersion: store.minVersion,
    oldestSchema: store.minVersion === store.version ? store.frozen.get(store.version) : def.oldestSchema,
    migrations: [...(def.migrations ?? []), { version: to, name: path.basename(file), sql }],
    sources: { ...def.sources, migrations: { ...(def.sources?.migrations ?? {}), [to]: file } },
  };
}

function failedChecks(checks: readonly VerifyCheck[]): Refusal[] {
  return checks.filter((c) => !c.ok).map((c) => ({ what: `verify: ${c.name}`, why: c.detail, instead: 'write this migration by hand (and report the case: generate should not write what verify refuses)' }));
}

/**
 * Generates the next migration of store `name` in registry folder `dir` (see the module
 * comment). Throws {@link RegistryError} when the registry, the store or schema.sql's
 * annotations are wrong; a change generate will not decide alone is returned as `refused`,
 * with what to write instead, and nothing is written.
 */
export async function generateMigration(dir: string, name: string, options: GenerateOptions = {}): Promise<GenerateResult> {
  const { root, defs } = await readRegistryFolder(dir);
  const def = defs.find((d) => d.name === name);
  if (!def) throw new RegistryError([{ store: null, file: root, message: `no store named ${name} (known: ${defs.map((d) => d.name).join(', ')})` }]);
  const store = createRegistry(defs, root).stores.find((s) => s.name === name)!;
  const storeDir = def.sources?.dir ?? path.join(root, name);
  const schemaFile = def.sources?.schema ?? path.join(storeDir, 'schema.sql');
  const from = store.version;
  const to = from + 1;
  const base = { store: name, from, summary: [] as string[], refusals: [] as Refusal[], verify: null };
  let old;
  try {
    old = schemaAt(store);
  } catch (err) {
    throw storeProblem(name, storeDir, (err as Error).message);
  }
  let outcome;
  try {
    const header = `-- ${String(to).padStart(3, '0')}: v${from} → v${to}, generated by \`stores generate\` from schema.sql${options.now ? ` on ${options.now.toISOString().slice(0, 10)}` : ''}; read it before committing.`;
    const analyses = [...store.destructive.values()];
    const applied = { tables: analyses.flatMap((a) => a.tableRenames), columns: analyses.flatMap((a) => a.columnRenames) };
    outcome = generate({ old, schema: store.schema, destructive: options.destructive, header, applied });
  } catch (err) {
    if (err instanceof GenerateInputError) throw storeProblem(name, schemaFile, err.message);
    throw err;
  } finally {
    old.close();
  }
  if (outcome.kind === 'unchanged') return { ...base, to: null, action: 'unchanged', file: null, sql: null, notes: outcome.notes };
  if (outcome.kind === 'refused') return { ...base, to: null, action: 'refused', file: null, sql: null, refusals: outcome.refusals, notes: outcome.notes };
  const file = path.join(storeDir, 'migrations', `${String(to).padStart(3, '0')}-${options.name ? slug(options.name) : derivedName(outcome.summary)}.sql`);
  const planned = { ...base, to, file, sql: outcome.sql, summary: outcome.summary, notes: outcome.notes };
  if (outcome.kind === 'skeleton') {
    if (!options.dryRun) writeStep(def, store, file, outcome.sql);
    return { ...planned, action: options.dryRun ? 'planned' : 'skeleton', refusals: outcome.moves };
  }
  let checks: readonly VerifyCheck[];
  try {
    checks = verifyRegistry(createRegistry([nextDefinition(def, store, to, file, outcome.sql)], root)).stores[0]!.checks;
  } catch (err) {
    const problems = err instanceof RegistryError ? err.problems.map((p) => p.message).join('; ') : (err as Error).message;
    return { ...planned, to: null, action: 'refused', refusals: [{ what: 'the generated migration', why: `the registry refuses it: ${problems}`, instead: 'write this migration by hand' }] };
  }
  if (checks.some((c) => !c.ok)) return { ...planned, to: null, action: 'refused', refusals: failedChecks(checks), verify: checks };
  if (options.dryRun) return { ...planned, action: 'planned', verify: checks };
  const before = writeStep(def, store, file, outcome.sql);
  return { ...planned, action: 'written', verify: await proveWritten(root, name, file, before) };
}

/** Writes the migration (never over an existing file) and the bumped store.json; returns store.json as it was. */
function writeStep(def: StoreDefinition, store: Store, file: string, sql: string): { storeJson: string; text: string } {
  const storeJson = def.sources?.store ?? path.join(path.dirname(path.dirname(file)), 'store.json');
  const text = fs.readFileSync(storeJson, 'utf8');
  const implied = store.minVersion === store.version && !/"minVersion"\s*:/.test(text);
  const bumped = bumpStoreJson(text, store.version + 1, implied ? store.minVersion : null);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const taken = fs.readdirSync(path.dirname(file)).find((f) => f.startsWith(`${String(store.version + 1).padStart(3, '0')}-`));
  if (taken) throw storeProblem(store.name, path.join(path.dirname(file), taken), `a migration to version ${store.version + 1} already exists while store.json says version ${store.version}: finish or remove it first`);
  fs.writeFileSync(file, sql, { flag: 'wx' });
  fs.writeFileSync(storeJson, bumped);
  return { storeJson, text };
}

/** Loads the registry from disk again and verifies the store: a failure restores both files. */
async function proveWritten(root: string, name: string, file: string, before: { storeJson: string; text: string }): Promise<readonly VerifyCheck[]> {
  try {
    const { defs } = await readRegistryFolder(root);
    const result = verifyRegistry(createRegistry(defs.filter((d) => d.name === name), root));
    const checks = result.stores[0]!.checks;
    if (!result.ok) throw new Error(checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; '));
    return checks;
  } catch (err) {
    fs.rmSync(file, { force: true });
    fs.writeFileSync(before.storeJson, before.text);
    throw new Error(`the migration written to ${file} fails verify once loaded from disk (both files restored): ${(err as Error).message}`);
  }
}
