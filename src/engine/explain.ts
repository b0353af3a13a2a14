/**
 * `stores diff`: how one file differs from what its version says it must be.
 */
import path from 'node:path';
import type { Status } from '../errors.js';
import type { Store } from '../types.js';
import { diff } from '../schema/diff.js';
import type { Change } from '../schema/model.js';
import { classify } from './classify.js';
import { probe } from './probe.js';
import type { LeftOut } from '../schema/exclude.js';

export interface FileDiff {
  readonly store: string;
  readonly file: string;
  readonly status: Status;
  readonly version: number | null;
  /** The version the file was compared with (null when there is nothing to compare with). */
  readonly comparedWith: number | null;
  readonly changes: readonly Change[];
  /** Objects left out of the comparison: another program's (ignored) or another tool's bookkeeping. */
  readonly ignored: readonly LeftOut[];
  readonly message: string;
}

/** Compares a store file with the schema its version must have. Reads only. */
export function diffFile(store: Store, file: string): FileDiff {
  const abs = path.resolve(file);
  const facts = probe(abs, store);
  const cls = classify(facts, store);
  const base = { store: store.name, file: abs, status: cls.status, version: cls.version, message: cls.message, ignored: facts.excluded ?? [] };
  const uv = facts.userVersion;
  if (uv === null || facts.master === null) return { ...base, comparedWith: null, changes: [] };
  if (uv >= store.minVersion && uv <= store.version) {
    const snap = facts.snapshot;
    return { ...base, comparedWith: uv, changes: snap ? diff(store.expect.snapshots.get(uv)!, snap) : [] };
  }
  if (uv === 0 && facts.snapshot && cls.history) return { ...base, comparedWith: cls.history.version, changes: [] };
  if (uv === 0 && facts.snapshot && cls.comparedWith !== undefined) {
    // Kept by another tool at a version whose schema it does not have: the difference found.
    return { ...base, comparedWith: cls.comparedWith, changes: cls.changes ?? [] };
  }
  if (uv === 0 && facts.snapshot) {
    // Legacy, conflict or foreign: what adoption would still have to explain, against the oldest version.
    const changes = cls.adoption ? (cls.adoption.remaining.length > 0 || cls.status !== 'legacy' ? diff(store.expect.snapshots.get(store.minVersion)!, facts.snapshot) : []) : [];
    return { ...base, comparedWith: store.minVersion, changes };
  }
  return { ...base, comparedWith: null, changes: [] };
}
