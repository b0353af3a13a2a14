/**
 * `stores import FROM`: bring an app's history into a registry once. Reads FROM (source.ts),
 * plans the store folder in memory and proves it (build.ts), then writes it in one rename: the
 * folder appears whole or not at all, and an existing store folder is never overwritten.
 */
import fs from 'node:fs';
import path from 'node:path';
import { planImport, type ImportOptions, type ImportPlan } from './build.js';
import { ImportError, readSource } from './source.js';

export { ImportError } from './source.js';
export type { HistoryEntry, ImportFile, ImportOptions, ImportPlan } from './build.js';

export interface ImportResult extends Omit<ImportPlan, 'files'> {
  /** The store folder written (absolute). */
  readonly dir: string;
  /** The files written, absolute paths. */
  readonly files: readonly string[];
}

/** The `file` of every store already in the registry folder (store folder name → file). */
function filesInRegistry(registry: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!fs.existsSync(registry)) return out;
  for (const e of fs.readdirSync(registry, { withFileTypes: true })) {
    const json = path.join(registry, e.name, 'store.json');
    if (!e.isDirectory() || !fs.existsSync(json)) continue;
    try {
      const file = (JSON.parse(fs.readFileSync(json, 'utf8')) as { file?: unknown }).file;
      if (typeof file === 'string') out.set(e.name, file);
    } catch {
      // An unreadable store.json is loadRegistry's to report.
    }
  }
  return out;
}

/**
 * Imports FROM (a folder of numbered SQL files, a drizzle-kit migrations folder, or a database
 * file) as a new store of the registry folder `registry`. Reads FROM without changing it; writes
 * `<registry>/<store>/` only when the whole store was proven in memory. Throws
 * {@link ImportError} (nothing written) when FROM cannot be imported faithfully or the store
 * folder exists.
 *
 * @example
 * const result = importStore('drizzle', 'stores', { store: 'app' });
 * // stores/app/{store.json, schema.sql, versions/001.sql…, migrations/002-….sql…}
 */
export function importStore(from: string, registry: string, options: ImportOptions = {}): ImportResult {
  const source = readSource(path.resolve(from));
  const plan = planImport(source, options);
  const root = path.resolve(registry);
  const dir = path.join(root, plan.store);
  if (fs.existsSync(dir)) {
    throw new ImportError(`${dir} already exists: import never overwrites a store; remove that folder, or import under another store name`);
  }
  for (const [other, file] of filesInRegistry(root)) {
    if (file.toLowerCase() === plan.file.toLowerCase()) throw new ImportError(`store ${other} of ${root} already uses the file name ${file}; import under another store name`);
  }
  fs.mkdirSync(root, { recursive: true });
  // Written beside, then renamed into place: the folder is there whole or not at all.
  const tmp = fs.mkdtempSync(path.join(root, `.stores-import-${plan.store}-`));
  try {
    for (const f of plan.files) {
      const target = path.join(tmp, f.path);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, f.text);
    }
    fs.renameSync(tmp, dir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ImportError(`${dir} already exists: import never overwrites a store; remove that folder, or import under another store name`);
    }
    throw err;
  }
  const { files, ...rest } = plan;
  return { ...rest, dir, files: files.map((f) => path.join(dir, f.path)) };
}
