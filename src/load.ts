/**
 * A registry from definitions or a folder: read and validated plainly (registry/), then what
 * each version must be is computed in memory (engine/expect.ts). Nothing here runs a fleet, so
 * the fleet's workers load their registry from here without importing the fleet.
 */
import path from 'node:path';
import { RegistryError } from './errors.js';
import type { Registry, Store, StoreDefinition } from './types.js';
import { validateDefinitions } from './registry/define.js';
import { readRegistryFolder, type LoadOptions } from './registry/load.js';
import { expectStore } from './engine/expect.js';
import { cacheKey, defaultCacheDir, readCached, writeCached } from './registry-cache.js';

export type { LoadOptions } from './registry/load.js';

export interface CacheOption {
  /**
   * Keep the validated registry in a cache folder of the current user's (true:
   * `$XDG_CACHE_HOME/stores` or `~/.cache/stores`; a string: that folder), and take it from there
   * when nothing it depends on changed (see src/registry-cache.ts). The folder is still read and
   * its store.json files checked every time; only the validation in memory is skipped. Default
   * false. A registry with JavaScript steps is never cached.
   */
  readonly cache?: boolean | string;
}

/**
 * Validates store definitions and returns a registry, or throws {@link RegistryError} listing
 * every problem (each naming its store and file). Runs baselines, migrations, seeds and legacy
 * samples in memory; opens no data file.
 *
 * @example
 * const registry = createRegistry([{ name: 'jobs', file: 'jobs.db', version: 1, schema: 'CREATE TABLE job (id TEXT PRIMARY KEY)' }]);
 */
export function createRegistry<const Defs extends readonly StoreDefinition[]>(defs: Defs, source = 'code'): Registry<Defs[number]['name']> {
  const { specs, problems } = validateDefinitions(defs, source);
  const stores: Store[] = [];
  for (const spec of specs) {
    const built = expectStore(spec);
    problems.push(...built.problems);
    if (built.store) stores.push(built.store);
  }
  if (problems.length > 0) throw new RegistryError(problems);
  // Every store's name is its definition's.
  return { source, stores } as Registry<Defs[number]['name']>;
}

/**
 * Loads and validates the registry in folder `dir`: one sub-folder per store holding
 * `store.json` and `schema.sql`, and optionally `migrations/`, `versions/`, `seed.sql`,
 * `legacy/`. Throws {@link RegistryError} (every problem, each naming the store and the file)
 * before any data file is opened.
 *
 * With `names` (the `storeNames` that `stores types` generates), the registry is typed by them
 * and must hold exactly those stores.
 *
 * @example
 * const registry = await loadRegistry('stores');
 * const typed = await loadRegistry('stores', { names: storeNames }); // Registry<'objects' | …>
 */
export async function loadRegistry<const Names extends string = string>(dir: string, options: LoadOptions & CacheOption & { readonly names?: readonly Names[] } = {}): Promise<Registry<Names>> {
  const { root, defs } = await readRegistryFolder(dir, options);
  const cacheDir = options.cache === true ? defaultCacheDir() : typeof options.cache === 'string' ? path.resolve(options.cache) : null;
  const key = cacheDir ? cacheKey(defs, root) : null;
  let registry = cacheDir && key ? readCached(cacheDir, key, defs, root) : null;
  if (!registry) {
    registry = createRegistry(defs, root);
    if (cacheDir && key) writeCached(cacheDir, key, registry);
  }
  if (options.names !== undefined) expectNames(registry, options.names);
  // Checked just above when names were given; otherwise Names is string.
  return registry as Registry<Names>;
}

/**
 * The store names a host was compiled against (`storeNames` of the declarations `stores types`
 * writes) must be the registry's, or its types lie: a RegistryError before any file is opened.
 */
function expectNames(registry: Registry, names: readonly string[]): void {
  const have = registry.stores.map((s) => s.name);
  const missing = names.filter((n) => !have.includes(n));
  const extra = have.filter((n) => !names.includes(n));
  if (missing.length === 0 && extra.length === 0) return;
  const say = (list: string[], what: string) => (list.length > 0 ? [`${what} ${list.join(', ')}`] : []);
  throw new RegistryError([
    {
      store: null,
      file: registry.source,
      message: `the registry's stores are not the ones the code was typed with (${[...say(missing, 'missing:'), ...say(extra, 'not in the types:')].join('; ')}); the generated declarations are stale: generate them again from this registry`,
    },
  ]);
}
