/**
 * Classification: facts about a file in, one status of the contract out, with its evidence and
 * a message for the operator. No file I/O: a legacy file's adoption is worked out on its schema
 * replayed in memory (adopt.ts).
 */
import type { Status } from '../errors.js';
import type { Store } from '../types.js';
import { diff, summarizeChanges } from '../schema/diff.js';
import type { Change } from '../schema/model.js';
import { foldCase } from '../sql/tokens.js';
import { planAdoption, type Adoption } from './adopt.js';
import { adviceFor, type FileFacts } from './probe.js';
import { historyVersion, type HistoryFact } from './history.js';
import { PRESETS } from './history-presets.js';

export type { Adoption } from './adopt.js';

export interface Classification {
  readonly status: Status;
  /** `user_version` found (null when unreadable). */
  readonly version: number | null;
  readonly target: number;
  /** For people: what was found, and what to do about it. */
  readonly message: string;
  /** Schema differences behind a `drift`. */
  readonly changes?: readonly Change[];
  /** The worked-out adoption of a `legacy` (or `conflict`) file. */
  readonly adoption?: Adoption;
  /** A `legacy` file kept by another migration tool: adopted from the version its history records. */
  readonly history?: HistoryAdoption;
  /** The version the schema was compared with, when not the file's `user_version` (a history's). */
  readonly comparedWith?: number;
}

/** Adopting a file from another tool's history: drop its bookkeeping, run our migrations after `version`. */
export interface HistoryAdoption {
  /** The version the history records (our numbering). */
  readonly version: number;
  /** Which histories said so (tool and table), for people. */
  readonly sources: readonly { readonly tool: string; readonly table: string }[];
  /** The bookkeeping tables the file holds, dropped (after a backup). */
  readonly drop: readonly string[];
}

/** The legacy rules that would name objects such as `column t.x`, `index i`, `table t`. */
function ruleFor(objects: readonly string[]): string {
  const rules = { column: 'legacy.dropColumns', index: 'legacy.dropIndexes', table: 'legacy.deadTables' } as Record<string, string>;
  const named = [...new Set(objects.map((o) => rules[o.split(' ')[0]!] ?? 'legacy.deadTables (with its table)'))];
  return named.join(' or ');
}

function v(n: number): string {
  return `v${n}`;
}

/** `1196444487 (0x47504B47, "GPKG")`: the number, its hex, and its four bytes when they are printable (as file(1) shows them). */
export function applicationIdText(id: number): string {
  const hex = (id >>> 0).toString(16).toUpperCase().padStart(8, '0');
  const bytes = Buffer.from(hex, 'hex');
  const ascii = bytes.every((b) => b >= 0x20 && b < 0x7f) ? `, ${JSON.stringify(bytes.toString('latin1'))}` : '';
  return `${id} (0x${hex}${ascii})`;
}

/** The fields every classification of a file starts with: the version found, and the target. */
type Base = Pick<Classification, 'version' | 'target'>;

/**
 * The status of a store file, from its facts. The checks run in a fixed order, the first that
 * holds deciding: what stands at the name, whether its content is a sound SQLite database, the
 * tripwires on its numbers, then a legacy file (user_version 0) or a versioned one.
 */
export function classify(facts: FileFacts, store: Store): Classification {
  const base: Base = { version: facts.userVersion, target: store.version };
  const unread = classifyPlace(facts, store, base) ?? classifyContent(facts, store, base);
  if (unread) return unread;
  const uv = facts.userVersion!;
  const tripped = classifyTripwires(facts, store, base, uv);
  if (tripped) return tripped;
  if (uv === 0 && facts.history && facts.history.length > 0) return classifyHistory(facts, store, facts.history);
  if (uv === 0) return classifyLegacy(facts, store, base);
  return classifyVersioned(facts, store, base, uv);
}

/**
 * What stands at the store's name, before any content is read: a symbolic link (to the file or a
 * companion), nothing (with or without a leftover -wal or -journal), something the file system
 * will not show, or something other than a file. Null when a file stands there.
 */
function classifyPlace(facts: FileFacts, store: Store, base: Base): Classification | null {
  const target = store.version;
  const name = store.file;
  if (facts.link) {
    // The store file itself, or a companion (`objects.db-wal`).
    const which = `${name}${facts.link.path.slice(facts.file.length)}`;
    return {
      ...base,
      status: 'error',
      message: `${which} is a symbolic link to ${facts.link.target}; stores never follows symbolic links (SQLite would read and write the file it points at, outside the data dir): replace the link with the file itself or move it away, then run again`,
    };
  }
  if (facts.kind === 'missing' && (facts.walBytes > 0 || facts.journal)) {
    // SQLite would replay that -wal into a new file (or roll that -journal back into it) on its first open.
    const left = facts.walBytes > 0 ? `${name}-wal (${facts.walBytes} bytes: a write-ahead log` : `${name}-journal (a rollback journal`;
    return {
      ...base,
      status: 'error',
      message: `no ${name}, but ${left} of a file that is gone) is still there, and SQLite would take it as a new ${name}'s own: put back the file it belongs to, or move it away, then run up again`,
    };
  }
  if (facts.kind === 'missing') {
    return { ...base, status: 'missing', message: `no ${name} yet; up creates it at ${v(target)} from the baseline` };
  }
  if (facts.kind === 'other' && facts.error && !facts.header) {
    // The file system would not say what stands at the name (a data dir nobody may enter, say).
    return {
      ...base,
      status: 'error',
      message: `${name} cannot be looked at: ${facts.error.message}; fix the cause (the data dir's permissions, say), then run again`,
    };
  }
  if (facts.kind !== 'file') {
    const what = facts.kind === 'other' ? 'something other than a file (a socket, a pipe, a device)' : `a ${facts.kind}`;
    return {
      ...base,
      status: 'error',
      message: `${what} stands where the file ${name} should be; move it away, then run up again`,
    };
  }
  return null;
}

/**
 * Whether the file's content is a sound SQLite database: an empty file, no SQLite header, a read
 * error (damage, a lock, a hot journal, anything else) or a failing quick_check decide here.
 * Null when the file reads as sound, so its user_version is known.
 */
function classifyContent(facts: FileFacts, store: Store, base: Base): Classification | null {
  const target = store.version;
  const name = store.file;
  if (facts.size === 0) {
    return { ...base, status: 'empty', message: `${name} is an empty file; up initializes it at ${v(target)}` };
  }
  if (!facts.header || !facts.header.sqlite) {
    return {
      ...base,
      status: 'corrupt',
      message: `${name} is not a SQLite database (${facts.size < 100 ? `only ${facts.size} bytes` : 'no SQLite header'}); ${adviceFor(facts).restore} or move it away — stores will not touch it`,
    };
  }
  if (facts.error) {
    const code = facts.error.code;
    if (/^SQLITE_(NOTADB|CORRUPT)/.test(code)) {
      return { ...base, status: 'corrupt', message: `${name} is damaged (${code}: ${facts.error.message}); ${adviceFor(facts).restore} — stores will not touch it` };
    }
    if (/^SQLITE_(BUSY|LOCKED)/.test(code)) {
      return {
        ...base,
        status: 'locked',
        message: `${name} is locked by another connection past the busy timeout (${code}); retry when that writer is done`,
      };
    }
    if (code === 'SQLITE_READONLY_ROLLBACK') {
      return {
        ...base,
        status: 'error',
        message: `${name} has a hot journal beside it (a writer crashed mid-transaction); \`stores up\` rolls it back to the last committed state, then reconciles`,
      };
    }
    return { ...base, status: 'error', message: `${name} cannot be read (${code}: ${facts.error.message}); fix the cause, then run again` };
  }
  if (facts.integrity !== null && facts.integrity !== 'ok') {
    const detail = facts.integrity.length > 200 ? `${facts.integrity.slice(0, 200)}…` : facts.integrity;
    return { ...base, status: 'corrupt', message: `${name} fails quick_check (${detail}); ${adviceFor(facts).restore} — stores will not touch it` };
  }
  return null;
}

/**
 * The tripwires on a sound file's numbers: another program's application_id, a version newer than
 * this binary knows, a negative one, or one older than it upgrades. Null when none is tripped.
 */
function classifyTripwires(facts: FileFacts, store: Store, base: Base, uv: number): Classification | null {
  const target = store.version;
  const name = store.file;
  const appId = facts.applicationId ?? 0;
  if (store.applicationId !== null && appId !== 0 && appId !== store.applicationId) {
    return {
      ...base,
      status: 'foreign',
      message: `${name} has application_id ${applicationIdText(appId)}, not store ${store.name}'s ${applicationIdText(store.applicationId)}: it belongs to another program, whatever its tables; move it away or point stores at the right data dir`,
    };
  }
  if (uv > target) {
    return {
      ...base,
      status: 'too-new',
      message: `${name} is at ${v(uv)}, written by a newer binary (this one knows up to ${v(target)}); run that newer version, or restore an older data dir — stores never writes this file`,
    };
  }
  if (uv < 0) {
    return {
      ...base,
      status: 'foreign',
      message: `${name} has user_version ${uv}, which no version of this store writes: it belongs to another program; move it away or point stores at the right data dir`,
    };
  }
  if (uv > 0 && uv < store.minVersion) {
    return {
      ...base,
      status: 'too-old',
      message: `${name} is at ${v(uv)}, older than the oldest version this binary upgrades (${v(store.minVersion)}); upgrade it with an older release first, then run up`,
    };
  }
  return null;
}

/**
 * A `user_version = 0` file without a declared history: empty (no tables), adopted by the legacy
 * rules (the message says what adopt does), or refused with the reason its adoption gives.
 */
function classifyLegacy(facts: FileFacts, store: Store, base: Base): Classification {
  const target = store.version;
  const name = store.file;
  const snap = facts.snapshot!;
  const objects = Object.keys(snap.tables).length + Object.keys(snap.indexes).length + Object.keys(snap.views).length + Object.keys(snap.triggers).length;
  if (objects === 0) {
    return { ...base, status: 'empty', message: `${name} holds no tables; up initializes it at ${v(target)}` };
  }
  const adoption = planAdoption(facts.master!, snap, store);
  const refused = adoptionRefusal(facts, store, base, adoption) ?? adoptionDrift(store, base, adoption);
  if (refused) return refused;
  const parts: string[] = [];
  if (adoption.renames.length) parts.push(`renames ${adoption.renames.length} table${adoption.renames.length === 1 ? '' : 's'}`);
  if (adoption.columnRenames.length) parts.push(`renames ${adoption.columnRenames.length} column${adoption.columnRenames.length === 1 ? '' : 's'}`);
  if (adoption.columnDrops.length) parts.push(`drops legacy columns of ${adoption.columnDrops.map((d) => d.table).join(', ')} (table rebuilt, ${adviceFor(facts).backedUp})`);
  if (adoption.deadTables.length) parts.push(`drops ${adoption.deadTables.length} dead table${adoption.deadTables.length === 1 ? '' : 's'}${facts.deadTablesWithRows.length ? ` (${facts.deadTablesWithRows.length} with rows: ${adviceFor(facts).backedUp})` : ''}`);
  if (adoption.creates.length) parts.push(`creates ${adoption.creates.length} missing object${adoption.creates.length === 1 ? '' : 's'}`);
  parts.push(`stamps ${v(target)}`);
  return { ...base, status: 'legacy', adoption, message: `${name} is a legacy file (user_version 0); adopt ${parts.join(', ')}` };
}

/**
 * A legacy file adoption cannot take on at all: an old name beside its replacement, tables no
 * legacy layout knows, or virtual tables whose module this SQLite lacks. Null otherwise.
 */
function adoptionRefusal(facts: FileFacts, store: Store, base: Base, adoption: Adoption): Classification | null {
  const name = store.file;
  if (adoption.conflicts.length > 0) {
    const pairs = adoption.conflicts.map(([a, b]) => `${a} and ${b}`).join(', ');
    return {
      ...base,
      status: 'conflict',
      adoption,
      message: `${name} is a legacy file holding both an old name and its replacement (${pairs}); adoption cannot choose — merge or remove one of each pair by hand, then run adopt again`,
    };
  }
  if (adoption.unknownTables.length > 0) {
    const list = adoption.unknownTables.slice(0, 5).join(', ') + (adoption.unknownTables.length > 5 ? `, … (${adoption.unknownTables.length} in all)` : '');
    return {
      ...base,
      status: 'foreign',
      adoption,
      message: `${name} has user_version 0 and tables that match no legacy layout of store ${store.name} (${list}): ${foreignHint(facts, store)}`,
    };
  }
  if (adoption.missingModules.length > 0) {
    const one = adoption.missingModules.length === 1;
    const list = adoption.missingModules.map((m) => `${m.table} uses module ${m.module}`).join(', ');
    return {
      ...base,
      status: 'error',
      adoption,
      message: `${name} is a legacy file, but its virtual table ${list}, which this SQLite lacks: adoption cannot rename, drop or compare ${one ? 'it' : 'them'} (the legacy rules or v${store.minVersion} name ${one ? 'it' : 'them'}); nothing was changed — adopt the file where SQLite has the module, or drop ${one ? 'that table' : 'those tables'} with a program that has it`,
    };
  }
  return null;
}

/**
 * A legacy file whose adoption, run on its schema in memory, fails or would not end at the oldest
 * version's schema (reshaped columns, objects no rule names, other differences): `drift`, with
 * the changes. Null when adoption would give that schema.
 */
function adoptionDrift(store: Store, base: Base, adoption: Adoption): Classification | null {
  const name = store.file;
  if (adoption.failure !== null) {
    return {
      ...base,
      status: 'drift',
      adoption,
      message: `${name} looks like a legacy file, but adopting it fails when run on its schema in memory (${adoption.failure}); nothing was changed — fix the file by hand, or the store's legacy rules`,
    };
  }
  if (adoption.reshaped.length > 0) {
    const list = adoption.reshaped.map((c) => `${c.table}.${c.name} (${c.actual} here, ${c.expected} in v${store.minVersion})`).join(', ');
    return {
      ...base,
      status: 'drift',
      adoption,
      changes: adoption.reshaped,
      message: `${name} looks like a legacy file, but the rebuild that drops its legacy columns would also change column${adoption.reshaped.length === 1 ? '' : 's'} ${list}, which no legacy rule names; nothing was changed — fix ${adoption.reshaped.length === 1 ? 'that column' : 'those columns'} by hand, or restore the file`,
    };
  }
  if (adoption.unaccounted.length > 0) {
    const list = adoption.unaccounted.slice(0, 10).join(', ') + (adoption.unaccounted.length > 10 ? `, … (${adoption.unaccounted.length} in all)` : '');
    return {
      ...base,
      status: 'drift',
      adoption,
      ...(adoption.remaining.length > 0 ? { changes: adoption.remaining } : {}),
      message: `${name} looks like a legacy file, but adopting it would drop what no legacy rule names: ${list}; nothing was changed — if nobody needs ${adoption.unaccounted.length === 1 ? 'it' : 'them'}, name ${adoption.unaccounted.length === 1 ? 'it' : 'them'} in the store's ${ruleFor(adoption.unaccounted)}; otherwise move ${adoption.unaccounted.length === 1 ? 'it' : 'them'} out of the file by hand (or keep ${adoption.unaccounted.length === 1 ? 'it' : 'them'} in a new version of the schema)`,
    };
  }
  if (adoption.remaining.length > 0) {
    return {
      ...base,
      status: 'drift',
      adoption,
      changes: adoption.remaining,
      message: `${name} looks like a legacy file, but adopting it would not give ${v(store.minVersion)}'s schema: ${summarizeChanges(adoption.remaining)}; fix the file by hand or restore it`,
    };
  }
  return null;
}

/**
 * A versioned file: its schema must be exactly what its version says (`drift` otherwise, or for a
 * trigger of another program on our tables); then `current` at the target, or `behind` it.
 */
function classifyVersioned(facts: FileFacts, store: Store, base: Base, uv: number): Classification {
  const target = store.version;
  const name = store.file;
  const changes = facts.matchesVersion ? [] : diff(store.expect.snapshots.get(uv)!, facts.snapshot!);
  if (changes.length === 0 && facts.unignorable && facts.unignorable.length > 0) {
    return { ...base, status: 'drift', message: `${name}: ${unignorableText(facts)}` };
  }
  if (changes.length > 0) {
    return {
      ...base,
      status: 'drift',
      changes,
      message: `${name} says ${v(uv)} but its schema differs: ${summarizeChanges(changes)}; ${adviceFor(facts).differences}${repairable(changes, store, uv) ? '; `stores up --repair` can add what is missing' : ''}${settleHints(changes, facts)}`,
    };
  }
  if (uv === target) return { ...base, status: 'current', message: `${name} is current at ${v(target)}` };
  const steps = store.migrations.filter((m) => m.version > uv).map((m) => m.name);
  return { ...base, status: 'behind', message: `${name} is at ${v(uv)}, target ${v(target)}; up runs ${steps.join(', ')}` };
}

/** Why a trigger of another program on one of our tables keeps the file `drift`. */
function unignorableText(facts: FileFacts): string {
  const list = (facts.unignorable ?? []).map((t) => `trigger ${t.name} on ${t.table} (matches ${t.pattern})`).join(', ');
  return `${list}: a trigger of another program on one of this store's tables cannot be ignored — it would fire during a reconcile (SQLite cannot pause triggers) and change rows behind the migration's back; nothing was changed — drop it from the file (or have its program put it on a table of its own), or declare it in the store's schema with a migration`;
}

/**
 * What would settle each kind of difference a host made by hand (the file stays `drift`: that is
 * the promise), for the drift message.
 */
export function settleHints(changes: readonly Change[], facts: Pick<FileFacts, 'unignorable'>): string {
  const hints: string[] = [];
  const extra = (object: Change['object']) => changes.filter((c) => c.change === 'extra' && c.object === object);
  const extraTables = new Set(extra('table').map((c) => foldCase(c.table)));
  const cols = extra('column');
  if (cols.length > 0) hints.push(`for ${cols.map((c) => `column ${c.table}.${c.name}`).join(', ')}: write a migration that adds ${cols.length === 1 ? 'it' : 'them'} (and put ${cols.length === 1 ? 'it' : 'them'} in the baseline), so the schema says what the file holds`);
  const ixs = extra('index').filter((c) => !extraTables.has(foldCase(c.table)));
  if (ixs.length > 0) hints.push(`for ${ixs.map((c) => `index ${c.name} on ${c.table}`).join(', ')}: write a migration that creates ${ixs.length === 1 ? 'it' : 'them'}, or, if another program owns ${ixs.length === 1 ? 'it' : 'them'}, add ${ixs.length === 1 ? 'its name' : 'their names'} to \`ignore\` in store.json (an ignored index on our table is carried through rebuilds)`);
  const tables = extra('table');
  if (tables.length > 0) hints.push(`for ${tables.map((c) => `table ${c.table}`).join(', ')}: if another program owns ${tables.length === 1 ? 'it' : 'them'}, add an \`ignore\` pattern to store.json (e.g. "ignore": [${tables.map((c) => JSON.stringify(c.table)).join(', ')}]); otherwise write a migration that creates ${tables.length === 1 ? 'it' : 'them'}`);
  const unignorable = new Set((facts.unignorable ?? []).map((t) => foldCase(t.name)));
  const trs = extra('trigger').filter((c) => !unignorable.has(foldCase(c.name ?? '')) && !extraTables.has(foldCase(c.actual?.match(/ ON (\S+)/)?.[1] ?? '')));
  if (trs.length > 0) hints.push(`for ${trs.map((c) => `trigger ${c.name}`).join(', ')}: write a migration that creates ${trs.length === 1 ? 'it' : 'them'}, or drop ${trs.length === 1 ? 'it' : 'them'} (a trigger on one of this store's tables cannot be ignored: it would fire during a reconcile)`);
  if (unignorable.size > 0) hints.push(unignorableText(facts as FileFacts));
  return hints.length > 0 ? ` — what would settle it: ${hints.join('; ')}` : '';
}

/** The message of a `user_version = 0` file with tables no legacy rule knows. */
function foreignHint(facts: FileFacts, store: Store): string {
  const tools = facts.keptBy ?? [];
  if (tools.length > 0) {
    const entries = tools.map((t) => `{"tool": "${t}"}`).join(' or ');
    return `it is kept by ${tools.join(' or ')} (table ${tools.map((t) => PRESETS[t as keyof typeof PRESETS].marker).join(', ')}), which store ${store.name} does not declare; \`legacy.history\` in store.json (${entries}) would adopt it at the version that history records — otherwise move it away or point stores at the right data dir`;
  }
  return 'it belongs to another program; move it away or point stores at the right data dir (or, if another program owns those tables inside this store file, add them to `ignore` in store.json)';
}

/** The last entry a history names, for messages. */
function entryOf(f: HistoryFact): string {
  const e = f.kind === 'log' ? f.applied.at(-1) : f.current;
  return e === undefined || e === null ? 'no entry' : `entry ${JSON.stringify(e)}`;
}

/** A `user_version = 0` file holding declared histories: adopted from the version they record, or refused. */
function classifyHistory(facts: FileFacts, store: Store, found: readonly HistoryFact[]): Classification {
  const base = { version: facts.userVersion, target: store.version };
  const name = store.file;
  const nothing = 'nothing was changed';
  const locked = found.find((f) => f.locked);
  if (locked) {
    const h = store.legacy.history[locked.source]!;
    const lockTables = 'tool' in h ? PRESETS[h.tool].tables.filter((t) => t !== PRESETS[h.tool].marker) : [];
    return { ...base, status: 'locked', message: `${name} is kept by ${locked.tool}, whose lock is held (table ${lockTables.join(', ') || locked.table}): a ${locked.tool} migration is running, or one died holding it; ${nothing} — retry when it is done, or release the lock with ${locked.tool} if nobody runs it` };
  }
  const versions: { fact: HistoryFact; version: number }[] = [];
  for (const f of found) {
    const r = historyVersion(f, store.legacy.history[f.source]!);
    if ('problem' in r) return { ...base, status: 'drift', message: `${name}: ${r.problem}; ${nothing} — ${r.fix}` };
    versions.push({ fact: f, version: r.version });
  }
  const said = (x: { fact: HistoryFact; version: number }) => `${x.fact.tool} (table ${x.fact.table}, ${entryOf(x.fact)}) says v${x.version}`;
  if (new Set(versions.map((x) => x.version)).size > 1) {
    return { ...base, status: 'drift', message: `${name}: two histories disagree: ${versions.map(said).join(', ')}; ${nothing} — remove the stale one from the file, or from legacy.history` };
  }
  const first = versions[0]!;
  const at = first.version;
  const who = versions.map(said).join(' and ');
  if (at > store.version) {
    return { ...base, status: 'too-new', message: `${name} is kept by another tool: ${who}, newer than this binary knows (v${store.version}); ${nothing} — run a newer release, or extend the map of legacy.history` };
  }
  if (at < store.minVersion) {
    return { ...base, status: 'too-old', message: `${name} is kept by another tool: ${who}, older than the oldest version this binary adopts (v${store.minVersion}); ${nothing} — bring it to v${store.minVersion} with that tool (or an older release), then adopt` };
  }
  const changes = diff(store.expect.snapshots.get(at)!, facts.snapshot!);
  if (changes.length > 0) {
    return { ...base, status: 'drift', changes, comparedWith: at, message: `${name} is kept by another tool: ${who}, but its schema, less the bookkeeping tables, is not v${at}'s: ${summarizeChanges(changes)}; ${nothing}${settleHints(changes, facts)}` };
  }
  if (facts.unignorable && facts.unignorable.length > 0) return { ...base, status: 'drift', message: `${name}: ${unignorableText(facts)}` };
  const drop = (facts.excluded ?? []).filter((l) => l.kind === 'history' && l.type === 'table').map((l) => l.name);
  const steps = store.migrations.filter((m) => m.version > at).map((m) => m.name);
  const history: HistoryAdoption = { version: at, sources: versions.map((x) => ({ tool: x.fact.tool, table: x.fact.table })), drop };
  return {
    ...base,
    status: 'legacy',
    history,
    message: `${name} is kept by another tool: ${who}; adopt drops its bookkeeping (${drop.join(', ')}; ${adviceFor(facts).backedUp})${steps.length > 0 ? `, runs ${steps.join(', ')}` : ''}, stamps v${store.version}`,
  };
}

/**
 * True when `--repair` can make a drifted file match by adding only: missing tables, indexes,
 * triggers and views, and missing trailing columns that allow NULL or have a default.
 * Repair works on files at the target version.
 */
export function repairable(changes: readonly Change[], store: Store, version: number): boolean {
  if (version !== store.version) return false;
  return changes.every((c) => repairStatus(c, store) === null);
}

/** Why a difference cannot be repaired, or null when it can. */
export function repairStatus(c: Change, store: Store): string | null {
  if (c.change !== 'missing') return `${c.change} ${c.object}: repair only adds`;
  if (c.object === 'table' || c.object === 'index' || c.object === 'trigger' || c.object === 'view') return null;
  if (c.object === 'column') {
    const t = store.expect.snapshots.get(store.version)!.tables[foldCase(c.table)];
    const col = t?.columns.find((x) => foldCase(x.name) === foldCase(c.name ?? ''));
    if (!col) return 'unknown column';
    if (col.pk > 0) return `column ${c.name} is part of the primary key`;
    if (col.notNull && col.default === null) return `column ${c.name} is NOT NULL without a default`;
    if (col.generated?.stored) return `column ${c.name} is a stored generated column`;
    return null;
  }
  return `missing ${c.object}: repair cannot add it without rebuilding the table`;
}
