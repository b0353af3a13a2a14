#!/usr/bin/env node
/**
 * Writes store.schema.json (the JSON Schema of store.json shipped in the package) from the
 * valibot schema in src/registry/store-json.ts. test/registry.test.ts fails when the two disagree.
 *
 *   npm run schema
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist', 'registry', 'store-json.js');
if (!fs.existsSync(dist)) throw new Error(`${dist} not found: run \`npx tsc -p .\` first`);
const { storeJsonSchema, storeJsonSchemaText } = await import(pathToFileURL(dist).href);
const out = path.join(root, 'store.schema.json');
fs.writeFileSync(out, storeJsonSchemaText(await storeJsonSchema()));
console.log(`wrote ${path.relative(process.cwd(), out)}`);
