/**
 * D1 databases on this machine, for real: Miniflare runs Cloudflare's production runtime
 * (workerd) on 127.0.0.1 and keeps each database as a SQLite file under `persist`, as
 * `wrangler dev` does. The CLI's `--d1 FILE` starts it here, hands the databases to the engine
 * (src/d1/), and disposes of it afterwards. Miniflare is an optional peer dependency: only
 * `--d1` loads it.
 *
 * Every call reaches D1 the way production code does, from a Worker: a small Worker inside
 * workerd runs the statements on `env[binding]` and answers in JSON, and {@link D1Like} here is
 * that Worker's client (one `dispatchFetch` per call). Miniflare's own Node-side binding proxy
 * (`getD1Database`) is not used: it answers property reads through a synchronous cross-thread
 * fetch, which under load fails an internal assertion now and then (seen in this project's tests).
 */
import fs from 'node:fs';
import type { D1Config } from './config.js';
import type { D1Dir, D1Like, D1StatementLike } from './types.js';

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

/** The Worker that carries our calls to D1 (blobs come back as arrays of bytes, as D1 gives them). */
const WORKER = `
const bytes = (k, v) => v instanceof ArrayBuffer ? Array.from(new Uint8Array(v)) : ArrayBuffer.isView(v) ? Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) : v;
export default {
  async fetch(request, env) {
    const { binding, op, statements } = await request.json();
    const db = env[binding];
    const prepare = (s) => (s.params.length > 0 ? db.prepare(s.sql).bind(...s.params) : db.prepare(s.sql));
    try {
      const result = op === 'batch' ? await db.batch(statements.map(prepare)) : await prepare(statements[0])[op]();
      return new Response(JSON.stringify({ result: result ?? null }, bytes), { headers: { 'content-type': 'application/json' } });
    } catch (e) {
      return new Response(JSON.stringify({ error: String((e && e.message) || e) }), { status: 500, headers: { 'content-type': 'application/json' } });
    }
  },
};`;

interface MiniflareLike {
  readonly ready: Promise<unknown>;
  dispatchFetch(url: string, init: { method: string; body: string; headers: Record<string, string> }): Promise<{ json(): Promise<unknown> }>;
  dispose(): Promise<void>;
}

type Call = (op: 'all' | 'first' | 'run' | 'batch', statements: readonly { sql: string; params: readonly unknown[] }[]) => Promise<unknown>;

/** A statement of the client: its SQL and bound values, sent when it runs. */
class Statement implements D1StatementLike {
  constructor(
    private readonly call: Call,
    readonly sql: string,
    readonly params: readonly unknown[] = [],
  ) {}
  bind(...values: unknown[]): D1StatementLike {
    return new Statement(this.call, this.sql, values);
  }
  all(): Promise<{ results: unknown[] }> {
    return this.call('all', [this]) as Promise<{ results: unknown[] }>;
  }
  first(): Promise<unknown> {
    return this.call('first', [this]);
  }
  run(): Promise<unknown> {
    return this.call('run', [this]);
  }
}

/** A D1 database reached through the Worker, by its binding. */
function client(mf: MiniflareLike, binding: string): D1Like {
  const call: Call = async (op, statements) => {
    const res = await mf.dispatchFetch('http://stores.local/', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ binding, op, statements: statements.map((s) => ({ sql: s.sql, params: s.params })) }),
    });
    const body = (await res.json()) as { result?: unknown; error?: string };
    if (body.error !== undefined) throw new Error(body.error);
    return body.result;
  };
  return {
    prepare: (sql) => new Statement(call, sql),
    batch: (statements) => call('batch', statements as Statement[]) as Promise<{ results: unknown[] }[]>,
  };
}

async function loadMiniflare(): Promise<new (options: Record<string, unknown>) => MiniflareLike> {
  try {
    const mod = (await import('miniflare')) as unknown as { Miniflare: new (options: Record<string, unknown>) => MiniflareLike };
    return mod.Miniflare;
  } catch {
    throw new MiniflareMissingError('D1 databases are reached through Miniflare, which is not installed: npm install --save-dev miniflare@4.20260426.0 (the last 4.x that runs on Node 20)');
  }
}

/** D1 databases in Miniflare: `bindings` maps each binding to the database id it is kept by. */
export async function startLocalD1(bindings: Readonly<Record<string, string>>, persist: string): Promise<{ db(binding: string): D1Like; dispose(): Promise<void> }> {
  const Miniflare = await loadMiniflare();
  fs.mkdirSync(persist, { recursive: true });
  const mf = new Miniflare({ modules: true, script: WORKER, d1Databases: { ...bindings }, d1Persist: persist, host: '127.0.0.1', port: 0 });
  try {
    await mf.ready;
  } catch (err) {
    await mf.dispose().catch(() => undefined);
    throw err;
  }
  return { db: (binding) => client(mf, binding), dispose: () => mf.dispose() };
}

/** Starts Miniflare with every database of the config bound, persisted under `config.persist`. */
export async function openLocalD1(config: D1Config): Promise<LocalD1> {
  const bindings: Record<string, string> = {};
  for (const d of config.dirs) for (const ref of Object.values(d.databases)) bindings[ref.binding] = ref.id;
  const local = await startLocalD1(bindings, config.persist);
  const dirs = config.dirs.map((d) => ({
    name: d.name,
    databases: Object.fromEntries(Object.entries(d.databases).map(([store, ref]) => [store, { binding: ref.binding, db: local.db(ref.binding) }])),
  }));
  return { dirs, dispose: local.dispose };
}
