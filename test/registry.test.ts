/**
 * Registry loading and validation: every error names the store and the file, and is raised
 * before any data file is opened.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { RegistryError } from '../src/errors.js';
import { createRegistry, loadRegistry } from '../src/api.js';
import { storeJsonSchema, storeJsonSchemaText } from '../src/registry/store-json.js';
import { ROOT, STORES, cli, storesFile, tmpDir } from './helpers.js';

/** A copy of the shipped registry, changed by `edit`, then loaded. */
async function loadEdited(edit: (dir: string) => void): Promise<RegistryError> {
  const dir = path.join(tmpDir(), 'stores');
  fs.cpSync(STORES, dir, { recursive: true });
  edit(dir);
  try {
    await loadRegistry(dir);
  } catch (err) {
    if (err instanceof RegistryError) return err;
    throw err;
  }
  throw new Error('expected a RegistryError');
}

function editJson(file: string, change: (j: Record<string, any>) => void): void {
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  change(j);
  fs.writeFileSync(file, JSON.stringify(j, null, 2));
}

describe('loadRegistry', () => {
  it('loads the shipped registry: three stores with their versions, migrations and legacy rules', async () => {
    const reg = await loadRegistry(STORES);
    expect(reg.stores.map((s) => [s.name, s.file, s.version, s.minVersion])).toEqual([
      ['filestore', 'filestore.db', 1, 1],
      ['objects', 'objects.db', 4, 1],
      ['sagas', 'sagas.db', 1, 1],
    ]);
    const objects = reg.stores[1]!;
    expect(objects.migrations.map((m) => m.name)).toEqual(['002-agent-definitions-updated-at.sql', '003-agent-definitions-user-hidden.sql', '004-agents-consolidation.sql']);
    expect(objects.legacy.renames).toHaveLength(8);
    expect(objects.legacy.deadTables).toHaveLength(4);
    expect(Object.keys(objects.connection)).toEqual(['busy_timeout', 'journal_mode', 'synchronous', 'foreign_keys', 'cache_size', 'mmap_size', 'temp_store']);
    // The shipped SQL is the spec's, byte for byte.
    const spec = path.resolve(STORES, '../../shared/spec/reference-stores');
    if (fs.existsSync(spec)) {
      expect(storesFile('objects/schema.sql')).toBe(fs.readFileSync(path.join(spec, 'objects/schema.sql'), 'utf8'));
      expect(storesFile('objects/migrations/004-agents-consolidation.sql')).toBe(fs.readFileSync(path.join(spec, 'objects/004-agents-consolidation.sql'), 'utf8'));
    }
  });

  it('takes the store folders in the order of their names, character by character (no locale)', async () => {
    // Locale collation (String.prototype.localeCompare) would give A, a_x, a-x, a1, b.
    const dir = path.join(tmpDir(), 'stores');
    for (const name of ['b', 'a1', 'a_x', 'A', 'a-x']) {
      fs.cpSync(path.join(STORES, 'sagas'), path.join(dir, name), { recursive: true });
      editJson(path.join(dir, name, 'store.json'), (j) => (j.file = `${name}.db`));
    }
    const reg = await loadRegistry(dir);
    expect(reg.stores.map((s) => s.name)).toEqual(['A', 'a-x', 'a1', 'a_x', 'b']);
  });

  it('a missing folder is a registry error that says what a registry is, in library terms (no CLI flag)', async () => {
    const err = await loadRegistry(path.join(tmpDir(), 'nope')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as Error).message).toMatch(/no registry folder here \(a registry is a folder with one sub-folder per store\)/);
    expect((err as Error).message).not.toMatch(/--stores/);
  });

  const cases: [string, (dir: string) => void, RegExp, string][] = [
    ['broken SQL in the baseline', (d) => fs.appendFileSync(path.join(d, 'sagas/schema.sql'), '\nCREATE TABLE oops (;'), /baseline does not run/, 'sagas/schema.sql'],
    ['broken SQL in a migration', (d) => fs.writeFileSync(path.join(d, 'objects/migrations/003-agent-definitions-user-hidden.sql'), 'ALTER TABLE nope ADD COLUMN x;'), /003-agent-definitions-user-hidden\.sql failed/, 'objects/migrations/003-agent-definitions-user-hidden.sql'],
    ['a gap in the migrations', (d) => fs.rmSync(path.join(d, 'objects/migrations/003-agent-definitions-user-hidden.sql')), /no migration brings the file to version 3/, 'objects'],
    ['a migration past the version', (d) => fs.writeFileSync(path.join(d, 'objects/migrations/005-more.sql'), 'CREATE TABLE more (id INTEGER);'), /past the store's version 4/, 'objects/migrations/005-more.sql'],
    ['two migrations for one version', (d) => fs.writeFileSync(path.join(d, 'objects/migrations/003-again.sql'), 'SELECT 1;'), /two migrations bring the file to version 3/, 'objects/migrations/003'],
    ['a badly named migration file', (d) => fs.writeFileSync(path.join(d, 'objects/migrations/three.sql'), 'SELECT 1;'), /not a migration file name/, 'objects/migrations/three.sql'],
    ['duplicate file names', (d) => editJson(path.join(d, 'sagas/store.json'), (j) => (j.file = 'objects.db')), /file objects\.db is already used by store/, 'store.json'],
    ['a rename chain that loops', (d) => editJson(path.join(d, 'objects/store.json'), (j) => j.legacy.renames.push({ from: 'db_memory_bundles_old', to: 'db_forge_memories' }, { from: 'db_x', to: 'db_y' }, { from: 'db_y', to: 'db_x' })), /loop/, 'objects/store.json'],
    ['a rename into a name the oldest schema lacks', (d) => editJson(path.join(d, 'objects/store.json'), (j) => j.legacy.renames.push({ from: 'db_forge_things', to: 'db_things' })), /ends at table db_things, which version 1's schema does not have/, 'objects/store.json'],
    ['a rename chain out of order', (d) => editJson(path.join(d, 'objects/store.json'), (j) => j.legacy.renames.reverse()), /must come after/, 'objects/store.json'],
    ['a dead table the baseline has', (d) => editJson(path.join(d, 'objects/store.json'), (j) => j.legacy.deadTables.push('db_temp')), /dead table db_temp is in the baseline/, 'objects/store.json'],
    ['a missing frozen oldest schema', (d) => fs.rmSync(path.join(d, 'objects/versions/001.sql')), /schema of version 1 .* is missing/, 'objects/versions/001.sql'],
    ['transaction control in a migration', (d) => fs.writeFileSync(path.join(d, 'objects/migrations/002-agent-definitions-updated-at.sql'), 'BEGIN; ALTER TABLE db_agent_definitions ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0; COMMIT;'), /the engine owns transactions/, 'objects/migrations/002'],
    ['an unknown connection pragma', (d) => editJson(path.join(d, 'sagas/store.json'), (j) => (j.connection.evil = "x'; DROP TABLE saga; --")), /unknown field "connection\.evil"; allowed in connection: busy_timeout, /, 'sagas/store.json'],
    ['an unknown store.json field', (d) => editJson(path.join(d, 'sagas/store.json'), (j) => (j.verison = 2)), /unknown field "verison"/, 'sagas/store.json'],
    ['invalid JSON', (d) => fs.writeFileSync(path.join(d, 'sagas/store.json'), '{ "file": '), /not valid JSON/, 'sagas/store.json'],
    ['a non-idempotent seed', (d) => fs.writeFileSync(path.join(d, 'objects/seed.sql'), "INSERT INTO db_memory_bundles (id, name) VALUES ('blank', '');"), /idempotent/, 'objects/seed.sql'],
    ['a JavaScript step that throws', (d) => {
      fs.rmSync(path.join(d, 'objects/migrations/003-agent-definitions-user-hidden.sql'));
      fs.writeFileSync(path.join(d, 'objects/migrations/003-hidden.mjs'), "export default function () { throw new Error('kaboom'); }\n");
    }, /003-hidden\.mjs failed: kaboom/, 'objects/migrations/003-hidden.mjs'],
    ['a JavaScript step that exports no function', (d) => {
      fs.rmSync(path.join(d, 'objects/migrations/003-agent-definitions-user-hidden.sql'));
      fs.writeFileSync(path.join(d, 'objects/migrations/003-hidden.mjs'), 'export const x = 1;\n');
    }, /must export a function/, 'objects/migrations/003-hidden.mjs'],
    ['a legacy sample that does not run', (d) => fs.appendFileSync(path.join(d, 'objects/legacy/forge-era.sql'), '\nINSERT INTO nowhere VALUES (1);'), /legacy sample legacy\/forge-era\.sql does not run/, 'objects/legacy/forge-era.sql'],
  ];
  for (const [name, edit, message, file] of cases) {
    it(`rejects ${name}, naming the store and the file`, async () => {
      const err = await loadEdited(edit);
      const text = err.message;
      expect(text).toMatch(message);
      const p = err.problems.find((x) => message.test(x.message));
      expect(p, text).toBeDefined();
      expect(p!.store).toMatch(/objects|sagas/);
      expect(p!.file).toContain(file);
    });
  }

  // store.json is checked against its schema: each problem names the file, the field path, what
  // was found and what is allowed (with the nearest valid value for a typo).
  const typos: [string, (j: Record<string, any>) => void, string | string[]][] = [
    ['an enum typo', (j) => (j.checkpointOnClose = 'TRUNCTAE'), 'checkpointOnClose: found "TRUNCTAE"; allowed: "PASSIVE", "FULL", "RESTART", "TRUNCATE" or null (did you mean "TRUNCATE"?)'],
    ['a wrong type for legacy', (j) => (j.legacy = 7), 'legacy: found 7; allowed: an object with fields renames, renameColumns, dropIndexes, dropColumns, deadTables, samples, history'],
    ['an unknown field', (j) => (j.verison = 2), 'unknown field "verison" (did you mean "version"?); allowed: $schema, description, file, version, minVersion, oldestSchema, seed, legacy, connection, checkpointOnClose, invariants, ignore, applicationId, fileSettings'],
    ['a nested wrong type in legacy.renames', (j) => (j.legacy.renames = [{ from: 'old_saga', to: 3 }]), 'legacy.renames[0].to: found 3; allowed: a string'],
    ['a misspelt key in legacy.renames', (j) => (j.legacy.renames = [{ form: 'old_saga', to: 'saga' }]), [
      'legacy.renames[0].from is required: a string — the old table name',
      'unknown field "legacy.renames[0].form" (did you mean "legacy.renames[0].from"?); allowed in legacy.renames[0]: from, to',
    ]],
    ['a connection pragma value of the wrong type', (j) => (j.connection.busy_timeout = true), "connection.busy_timeout: found true; allowed: a whole number or a single word (letters, digits, '_' or '-')"],
    ['a connection pragma value that is not one word', (j) => (j.connection.journal_mode = 'WAL; DROP TABLE saga'), `connection.journal_mode: found "WAL; DROP TABLE saga"; allowed: a whole number or a single word (letters, digits, '_' or '-')`],
    ['a missing required field', (j) => delete j.file, 'file is required: a string — the file name in a data dir, e.g. "objects.db" (a plain name, never a path)'],
    ['a fractional version', (j) => (j.version = 1.5), 'version: found 1.5; allowed: a whole number from 1 to 2147483647'],
  ];
  for (const [name, change, messages] of typos) {
    it(`rejects ${name} in store.json, naming the file, the field, what was found and what is allowed`, async () => {
      const err = await loadEdited((d) => editJson(path.join(d, 'sagas/store.json'), change));
      const file = expect.stringMatching(/[/\\]sagas[/\\]store\.json$/);
      expect(err.problems).toEqual([messages].flat().map((message) => ({ store: 'sagas', file, message })));
      for (const p of err.problems) expect(err.message).toContain(`sagas: ${p.file}: ${p.message}`);
    });
  }

  it('the CLI refuses a store.json typo with exit 2 before looking at any data dir, and says where', () => {
    const dir = path.join(tmpDir(), 'stores');
    fs.cpSync(STORES, dir, { recursive: true });
    editJson(path.join(dir, 'sagas/store.json'), (j) => (j.checkpointOnClose = 'TRUNCTAE'));
    const root = tmpDir();
    const r = cli(['check', '--stores', dir, '--root', root]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path.join(dir, 'sagas', 'store.json')}: checkpointOnClose: found "TRUNCTAE"; allowed: "PASSIVE", "FULL", "RESTART", "TRUNCATE" or null (did you mean "TRUNCATE"?)`);
    expect(fs.readdirSync(root)).toEqual([]);
  });

  it('accepts "$schema" in store.json; every shipped store.json points at the shipped JSON Schema', async () => {
    const err = await loadEdited((d) => {
      editJson(path.join(d, 'sagas/store.json'), (j) => (j.$schema = 'https://example.com/anything.json'));
      editJson(path.join(d, 'sagas/store.json'), (j) => (j.checkpointOnClose = 'FULLL'));
    });
    expect(err.problems.map((p) => p.message)).toEqual([expect.stringMatching(/^checkpointOnClose: found "FULLL"; .*did you mean "FULL"/)]);
    for (const name of ['filestore', 'objects', 'sagas']) {
      const file = path.join(STORES, name, 'store.json');
      const ref = (JSON.parse(fs.readFileSync(file, 'utf8')) as { $schema?: string }).$schema;
      expect(ref, file).toBe('../../store.schema.json');
      expect(path.resolve(path.dirname(file), ref!)).toBe(path.join(ROOT, 'store.schema.json'));
    }
  });

  it('ships store.schema.json, equal to what the valibot schema generates (regenerate: npm run schema)', async () => {
    const file = path.join(ROOT, 'store.schema.json');
    expect(fs.readFileSync(file, 'utf8'), 'store.schema.json is stale: run `npm run schema`').toBe(storeJsonSchemaText(await storeJsonSchema()));
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { files: string[]; exports: Record<string, unknown> };
    expect(pkg.files).toContain('store.schema.json');
    expect(pkg.exports['./store.schema.json']).toBe('./store.schema.json');
    const schema = JSON.parse(fs.readFileSync(file, 'utf8')) as { properties: Record<string, unknown>; additionalProperties: boolean };
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toContain('$schema');
  });

  it('a JavaScript migration step runs (registry from disk)', async () => {
    const dir = path.join(tmpDir(), 'stores');
    fs.cpSync(STORES, dir, { recursive: true });
    fs.rmSync(path.join(dir, 'objects/migrations/004-agents-consolidation.sql'));
    fs.writeFileSync(
      path.join(dir, 'objects/migrations/004-agents-consolidation.mjs'),
      `import fs from 'node:fs';\nconst sql = ${JSON.stringify(storesFile('objects/migrations/004-agents-consolidation.sql'))};\nexport function up(db) { db.exec(sql); }\n`,
    );
    const reg = await loadRegistry(dir);
    expect(reg.stores[1]!.migrations[2]!.run).toBeTypeOf('function');
  });
});

describe('createRegistry (built in code)', () => {
  it('accepts a registry with a CHECK generated from an enum array', () => {
    const states = ['pending', 'running', 'done'];
    const reg = createRegistry([
      { name: 'jobs', file: 'jobs.db', version: 1, schema: `CREATE TABLE job (id TEXT PRIMARY KEY, state TEXT NOT NULL CHECK (state IN (${states.map((s) => `'${s}'`).join(', ')})));` },
    ]);
    expect(reg.source).toBe('code');
    expect(reg.stores[0]!.expect.snapshots.get(1)!.tables.job!.checks).toEqual(["state in ( 'pending' , 'running' , 'done' )"]);
  });

  it('rejects a checkpointOnClose that is not a wal_checkpoint mode (it is interpolated into a pragma)', () => {
    const err = (() => {
      try {
        createRegistry([{ name: 'a', file: 'a.db', version: 1, schema: 'CREATE TABLE t (x)', checkpointOnClose: 'TRUNCATE); DROP TABLE t; --' as 'TRUNCATE' }]);
      } catch (e) {
        return e as RegistryError;
      }
      throw new Error('expected an error');
    })();
    expect(err.problems.map((p) => p.message)).toEqual(['checkpointOnClose is "TRUNCATE); DROP TABLE t; --": use one of PASSIVE, FULL, RESTART, TRUNCATE, or null for none']);
  });

  it('rejects duplicate store names and bad names, all at once', () => {
    const err = (() => {
      try {
        createRegistry([
          { name: 'a', file: 'a.db', version: 1, schema: 'CREATE TABLE t (x)' },
          { name: 'a', file: 'b.db', version: 1, schema: 'CREATE TABLE t (x)' },
          { name: '../x', file: 'dir/c.db', version: 1, schema: 'CREATE TABLE t (x)' },
          { name: 'v', file: 'v.db', version: 0, schema: 'CREATE TABLE t (x)' },
        ]);
      } catch (e) {
        return e as RegistryError;
      }
      throw new Error('expected an error');
    })();
    expect(err).toBeInstanceOf(RegistryError);
    const msgs = err.problems.map((p) => p.message).join('\n');
    expect(msgs).toMatch(/store name a is declared twice/);
    expect(msgs).toMatch(/store name "\.\.\/x"/);
    expect(msgs).toMatch(/file name "dir\/c\.db"/);
    expect(msgs).toMatch(/version must be a whole number/);
  });
});

describe('layers', () => {
  /** The modules `file` imports (static, dynamic, type-only, re-exports), as TypeScript reads them, resolved to paths. */
  function importsOf(file: string, text = fs.readFileSync(file, 'utf8')): string[] {
    return ts
      .preProcessFile(text, true, true)
      .importedFiles.map((f) => f.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => path.resolve(path.dirname(file), spec));
  }
  const engine = path.join(ROOT, 'src', 'engine') + path.sep;

  it('reads every kind of import, so the check below cannot pass by missing one', () => {
    const file = path.join(ROOT, 'src', 'registry', 'x.ts');
    const text = "import type { A } from '../engine/a.js';\nexport { b } from '../engine/b.js';\nconst c = await import('../engine/c.js');\nimport './d.js';";
    expect(importsOf(file, text).filter((f) => f.startsWith(engine))).toHaveLength(3);
  });

  it('no file under src/registry/ imports from src/engine/ (computing what versions must be is the engine\'s)', () => {
    const dir = path.join(ROOT, 'src', 'registry');
    const files = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(0);
    const crossings = files.flatMap((f) => importsOf(path.join(dir, f)).filter((i) => i.startsWith(engine)).map((i) => `${f} imports ${path.relative(ROOT, i)}`));
    expect(crossings).toEqual([]);
  });
});
