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

/**
 * better-sqlite3 is CommonJS. Imported from ESM, Node's loader first scans its source for the
 * names it exports (cjs-module-lexer) and wraps it in a module of its own: about 5 ms of every
 * process's start-up and of every worker's. The bundles take it with `require` instead (the
 * sources keep their `import Database from 'better-sqlite3'`: the default import is the
 * module's `exports`, which is what `require` returns), resolved from the bundle's own folder
 * as the import was.
 */
const requireCommonJs = {
  name: 'require-better-sqlite3',
  setup(b) {
    b.onResolve({ filter: /^better-sqlite3$/ }, () => ({ path: 'better-sqlite3', namespace: 'cjs-shim' }));
    b.onLoad({ filter: /.*/, namespace: 'cjs-shim' }, () => ({
      contents: "import { createRequire } from 'node:module';\nexport default createRequire(import.meta.url)('better-sqlite3');\n",
      loader: 'js',
    }));
  },
};

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
    plugins: [requireCommonJs],
    logLevel: 'warning',
  });
}
fs.chmodSync(path.join(out, 'main.js'), 0o755);
