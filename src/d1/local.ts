/**
 * D1 databases on this machine, for real: Miniflare runs Cloudflare's production runtime
 * (workerd) on 127.0.0.1 and keeps each database as a SQLite file under `persist`, as
 * `wrangler dev` does. The CLI's `--d1 FILE` starts it here, hands the bindings to the engine
 * (src/d1/), and disposes of it afterwards. Miniflare is an optional peer dependency: only
 * `--d1` loads it.
 */
import fs from 'node:fs';
import type { D1Config } from './config.js';
import type { D1Dir, D1Like } from './types.js';

/** The databases of a config, reachable, and how to stop the runtime. */
export interface LocalD1 {
  readonly dirs: readonly D1Dir[];
  dispose(): Promise<void>;
}

/** Miniflare is not installed: what to do about it. */
export class MiniflareMissingError extends Error {
  override readonly name = 'MiniflareMissingError';
  readonly code = 'D1_RUNTIME_MISSING';
}

const WORKER = 'export default { fetch() { return new Response("") } }';

interface MiniflareLike {
  readonly ready: Promise<unknown>;
  getD1Database(binding: string): Promise<D1Like>;
  dispose(): Promise<void>;
}

async function loadMiniflare(): Promise<new (options: Record<string, unknown>) => MiniflareLike> {
  try {
    const mod = (await import('miniflare')) as unknown as { Miniflare: new (options: Record<string, unknown>) => MiniflareLike };
    return mod.Miniflare;
  } catch {
    throw new MiniflareMissingError('D1 databases are reached through Miniflare, which is not installed: npm install --save-dev miniflare@4.20260426.0 (the last 4.x that runs on Node 20)');
  }
}

/** Starts Miniflare with every database of the config bound, persisted under `config.persist`. */
export async function openLocalD1(config: D1Config): Promise<LocalD1> {
  const Miniflare = await loadMiniflare();
  fs.mkdirSync(config.persist, { recursive: true });
  const d1Databases: Record<string, string> = {};
  for (const d of config.dirs) for (const ref of Object.values(d.databases)) d1Databases[ref.binding] = ref.id;
  const mf = new Miniflare({ modules: true, script: WORKER, d1Databases, d1Persist: config.persist, host: '127.0.0.1', port: 0 });
  try {
    await mf.ready;
    const dirs = [];
    for (const d of config.dirs) {
      const databases: Record<string, { binding: string; db: D1Like }> = {};
      for (const [store, ref] of Object.entries(d.databases)) databases[store] = { binding: ref.binding, db: await mf.getD1Database(ref.binding) };
      dirs.push({ name: d.name, databases });
    }
    return { dirs, dispose: () => mf.dispose() };
  } catch (err) {
    await mf.dispose().catch(() => undefined);
    throw err;
  }
}
