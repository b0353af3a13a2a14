/**
 * Planning: from a classification to the ordered steps that make the file current, as plain
 * data (what `--dry-run` prints). Pure: no I/O.
 */
import type { MigrationDefinition, Store } from '../types.js';
import type { Snapshot } from '../schema/model.js';
import { parseCreateTable } from '../schema/parse.js';
import { foldCase, quoteIdent } from '../sql/tokens.js';
import { repairStatus, type Classification } from './classify.js';
import type { FileFacts } from './probe.js';
import type { RebuildSpec } from './rebuild.js';
import { undeclaredMessage } from './destructive.js';

export type StepKind = 'baseline' | 'rename' | 'rename-column' | 'drop-index' | 'drop-column' | 'drop-table' | 'create' | 'migration' | 'repair' | 'seed' | 'stamp';

/** One step of a plan: SQL to run (or a JavaScript migration), and why it is there. */
export interface PlanStep {
  readonly kind: StepKind;
  /** The SQL run, or a comment naming the JavaScript step. */
  readonly sql: string;
  /** Why this step exists, for people. */
  readonly comment: string;
  /** Where the step comes from (a registry file, or `legacy rules`). */
  readonly source: string;
  /** True for steps that remove something (drops). */
  readonly destructive?: boolean;
  /** A table rebuild this step performs (legacy column drops). */
  readonly rebuild?: RebuildSpec;
  /** Tables whose rows a destructive step touches. */
  readonly tables?: readonly string[];
  /** The migration a `migration` step runs (SQL with its rebuilds, or JavaScript; not serialised). */
  readonly migration?: MigrationDefinition;
}

export interface Plan {
  readonly action: 'created' | 'initialized' | 'migrated' | 'adopted' | 'repaired';
  readonly from: number;
  readonly to: number;
  readonly steps: readonly PlanStep[];
  /**
   * What a backup is taken for: tables dropped while they hold rows, tables a step destroys or
   * rebuilds, or a declared destructive step. When not empty, a full copy of the file is written
   * before the first step (unless backups are off).
   */
  readonly backupFor: readonly string[];
}

export interface PlanOptions {
  /** Add what a drifted file lacks (never drops). */
  readonly repair?: boolean;
}

/** A plan, or the reason there is none (the store is current or refused). */
export type PlanResult = { readonly plan: Plan } | { readonly none: 'current' | 'refused'; readonly reason: string };

function src(store: Store, part: 'schema' | 'seed' | 'store'): string {
  const p = store.sources[part];
  return p ?? `${store.name}:${part}`;
}

function migrationSteps(store: Store, after: number): PlanStep[] {
  return store.migrations
    .filter((m) => m.version > after)
    .map((m) => {
      const d = store.destructive.get(m.version);
      const marked = d?.destructive === true;
      const rebuilds = d && d.rebuilds.length > 0 ? ` — rebuilds ${d.rebuilds.join(', ')} (every row copied)` : '';
      const what = d && d.what.length > 0 ? d.what.join('; ') : 'what the step declares';
      return {
        kind: 'migration' as const,
        // What runs: a declared rebuild is shown as the statements it runs.
        sql: d?.runs && d.rebuilds.length > 0 ? d.runs : m.sql !== undefined ? m.sql.trim() : `-- JavaScript step ${m.name}`,
        comment: `migration to v${m.version}: ${m.name}${rebuilds}${marked ? ` — DESTRUCTIVE: ${what} (declared: ${d.declared ?? 'no'})` : m.run ? ' — JavaScript, watched as it runs: refused if it destroys anything undeclared' : ''}`,
        source: store.sources.migrations?.[m.version] ?? m.name,
        ...(marked ? { destructive: true } : {}),
        ...(d && d.tables.length > 0 ? { tables: d.tables } : {}),
        migration: m,
      };
    });
}

/** Refuses a plan holding a migration that destroys what it does not declare (the rule `up` applies). */
function undeclared(store: Store, after: number): string | null {
  for (const m of store.migrations) {
    const d = store.destructive.get(m.version);
    if (m.version > after && d?.undeclared) return `${undeclaredMessage(m, d.what)} — nothing was changed`;
  }
  return null;
}

/** What destructive or rebuilding migrations after `after` touch: a backup is taken first. */
function destructiveTables(store: Store, after: number): string[] {
  return store.migrations
    .filter((m) => m.version > after)
    .flatMap((m) => {
      const d = store.destructive.get(m.version);
      if (!d || (!d.destructive && d.rebuilds.length === 0)) return [];
      return d.tables.length > 0 ? d.tables : [`migration ${m.name}`];
    });
}

function tail(store: Store): PlanStep[] {
  const out: PlanStep[] = [];
  if (store.seed) out.push({ kind: 'seed', sql: store.seed.trim(), comment: 'seed rows (idempotent)', source: src(store, 'seed') });
  const appId = store.applicationId !== null ? `PRAGMA application_id = ${store.applicationId};\n` : '';
  out.push({ kind: 'stamp', sql: `${appId}PRAGMA user_version = ${store.version}`, comment: `stamp v${store.version}${appId ? ` and application_id ${store.applicationId}` : ''}`, source: src(store, 'store') });
  return out;
}

/** The facts a plan needs beyond the classification. */
export type PlanFacts = Pick<FileFacts, 'snapshot' | 'deadTablesWithRows'>;

/** The steps that bring a classified file to the store's version. */
export function plan(cls: Classification, store: Store, facts: PlanFacts, options: PlanOptions = {}): PlanResult {
  const to = store.version;
  switch (cls.status) {
    case 'current':
      return { none: 'current', reason: cls.message };
    case 'missing':
    case 'empty':
      return {
        plan: {
          action: cls.status === 'missing' ? 'created' : 'initialized',
          from: 0,
          to,
          backupFor: [],
          steps: [{ kind: 'baseline', sql: store.schema.trim(), comment: `create the baseline (v${to})`, source: src(store, 'schema') }, ...tail(store)],
        },
      };
    case 'behind': {
      const refusal = undeclared(store, cls.version!);
      if (refusal) return { none: 'refused', reason: refusal };
      return { plan: { action: 'migrated', from: cls.version!, to, backupFor: destructiveTables(store, cls.version!), steps: [...migrationSteps(store, cls.version!), ...tail(store)] } };
    }
    case 'legacy': {
      if (cls.history) return planFromHistory(cls.history, store);
      const refusal = undeclared(store, store.minVersion);
      if (refusal) return { none: 'refused', reason: refusal };
      const a = cls.adoption!;
      // The adoption steps ran on the file's schema replayed in memory: the same steps run here.
      const steps: PlanStep[] = [...a.steps, ...migrationSteps(store, store.minVersion), ...tail(store)];
      return { plan: { action: 'adopted', from: 0, to, steps, backupFor: [...facts.deadTablesWithRows, ...a.columnDrops.map((d) => d.table), ...destructiveTables(store, store.minVersion)] } };
    }
    case 'drift': {
      if (!options.repair) return { none: 'refused', reason: cls.message };
      return planRepair(cls, store, facts.snapshot);
    }
    default:
      return { none: 'refused', reason: cls.message };
  }
}

/**
 * Adopting a file another tool kept, at version `h.version`: its bookkeeping tables are dropped
 * (after a backup: they hold its history), then the migrations after that version run, then the
 * seed and the stamp — all in the one transaction of the reconcile.
 */
function planFromHistory(h: NonNullable<Classification['history']>, store: Store): PlanResult {
  const refusal = undeclared(store, h.version);
  if (refusal) return { none: 'refused', reason: refusal };
  const owner = h.sources.map((s) => s.tool).join(' and ');
  const drops: PlanStep[] = h.drop.map((t) => ({
    kind: 'drop-table',
    sql: `DROP TABLE ${quoteIdent(t)}`,
    comment: `drop ${owner}'s bookkeeping table ${t} (the file is adopted at v${h.version})`,
    source: src(store, 'store'),
    destructive: true,
    tables: [t],
  }));
  return { plan: { action: 'adopted', from: h.version, to: store.version, steps: [...drops, ...migrationSteps(store, h.version), ...tail(store)], backupFor: [...h.drop, ...destructiveTables(store, h.version)] } };
}

function planRepair(cls: Classification, store: Store, snapshot: Snapshot | null): PlanResult {
  const refuse = (why: string): PlanResult => ({ none: 'refused', reason: `${cls.message}; --repair cannot fix it: ${why}` });
  if (cls.version !== store.version || !snapshot || !cls.changes) return refuse(`repair works on files at the target version v${store.version}`);
  const problems = cls.changes.map((c) => repairStatus(c, store)).filter((x): x is string => x !== null);
  if (problems.length > 0) return refuse(problems.join('; '));
  const baseline = store.expect.snapshots.get(store.version)!;
  const steps: PlanStep[] = [];
  const byName = new Map(store.expect.baselineObjects.map((o) => [foldCase(o.name), o]));
  const missingCols = new Map<string, Set<string>>();
  for (const c of cls.changes) {
    if (c.object === 'column') {
      const k = foldCase(c.table);
      if (!missingCols.has(k)) missingCols.set(k, new Set());
      missingCols.get(k)!.add(foldCase(c.name!));
    }
  }
  // Columns: ADD COLUMN appends, so only a missing tail of the column list can be repaired.
  for (const [table, missing] of missingCols) {
    const t = baseline.tables[table]!;
    const cols = t.columns.map((c) => foldCase(c.name));
    const firstMissing = cols.findIndex((c) => missing.has(c));
    if (cols.slice(firstMissing).some((c) => !missing.has(c))) {
      return refuse(`table ${t.name} lacks columns in the middle of its column list (ADD COLUMN can only append)`);
    }
    const parsed = parseCreateTable(byName.get(table)!.sql!);
    for (const col of parsed.columns) {
      if (missing.has(foldCase(col.name))) {
        steps.push({ kind: 'repair', sql: `ALTER TABLE ${quoteIdent(t.name)} ADD COLUMN ${col.text}`, comment: `repair: add column ${t.name}.${col.name}`, source: src(store, 'schema') });
      }
    }
  }
  const missingObjects = new Set(cls.changes.filter((c) => c.object !== 'column').map((c) => foldCase(c.object === 'table' ? c.table : c.name!)));
  // Tables first, then indexes, triggers and views, in the baseline's creation order.
  for (const type of ['table', 'index', 'trigger', 'view']) {
    for (const obj of store.expect.baselineObjects) {
      if (obj.type === type && missingObjects.has(foldCase(obj.name))) {
        steps.push({ kind: 'repair', sql: obj.sql!, comment: `repair: create ${obj.type} ${obj.name}`, source: src(store, 'schema') });
      }
    }
  }
  return { plan: { action: 'repaired', from: store.version, to: store.version, steps: [...steps, ...tail(store)], backupFor: [] } };
}

/** The whole plan as one SQL script with comments (what `--dry-run` prints). */
export function planToSql(p: Plan): string {
  return p.steps.map((s) => `-- ${s.comment}${s.source ? ` [${s.source}]` : ''}\n${s.sql.endsWith(';') ? s.sql : `${s.sql};`}`).join('\n');
}
