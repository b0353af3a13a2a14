#!/usr/bin/env node
/**
 * Bundles the compiled package (tsc's output in dist/) into one file per entry point, in
 * dist/bundle/: the CLI (`main.js`, the `stores` executable), the library (`index.js`, what
 * `import 'stores'` loads) and the fleet worker (`worker.js`, beside them: the pool starts it as
 * `./worker.js` from its own module). Node resolves and loads ESM modules one file at a time; the
 * CLI's usual path loads about forty of them, and loading one file instead shortens every command's
 * start-up (and every worker's). Dependencies (better-sqlite3, yargs, …) stay external: they are
 * resolved from node_modules as before. The code is tsc's, unchanged: no minification, no
 * down-levelling; the bundles sit two levels below the package root, as dist/cli/*.js do, so
 * module-relative paths (package.json, store.schema.json) resolve the same way.
 *
 *   node scripts/bundle.mjs     (run by `npm run build`, after tsc)
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const out = path.join(dist, 'bundle');
const entries = { main: 'cli/main.js', index: 'index.js', worker: 'fleet/worker.js' };

fs.rmSync(out, { recursive: true, force: true });
for (const [name, entry] of Object.entries(entries)) {
  const from = path.join(dist, entry);
  if (!fs.existsSync(from)) throw new Error(`bundle: ${from} is missing: run tsc first (npm run build does both)`);
  // The worker's dynamic imports (the registry loader, for a registry with JavaScript steps) stay
  // dynamic, in a chunk of their own: bundled inline, their static imports (valibot, node:crypto…)
  // would be loaded by every worker at its start.
  const split = name === 'worker' ? { splitting: true, outdir: out, entryNames: '[name]', chunkNames: 'worker-[name]-[hash]' } : { outfile: path.join(out, `${name}.js`) };
  await build({
    entryPoints: { [name]: from },
    ...split,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
}
fs.chmodSync(path.join(out, 'main.js'), 0o755);
