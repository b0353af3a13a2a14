/**
 * Discovery: the data dirs under a root. A data dir is a directory that directly holds at least
 * one store file (by exact name: backups, -wal/-shm/-journal companions and temporary files
 * never count). Symbolic links are not followed, so discovery never leaves the root.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Registry } from '../types.js';

export interface DiscoveryProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * Yields the data dirs under `root` (the root itself included), sorted, depth first.
 * Unreadable directories are reported through `onProblem` and skipped.
 */
export function* discover(registry: Registry, root: string, onProblem?: (p: DiscoveryProblem) => void): Generator<string> {
  const names = new Set(registry.stores.map((s) => s.file));
  const start = path.resolve(root);
  const stack: string[] = [start];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      onProblem?.({ path: dir, message: (err as Error).message });
      continue;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (entries.some((e) => names.has(e.name) && !e.isSymbolicLink())) yield dir;
    const subdirs = entries.filter((e) => e.isDirectory() && !names.has(e.name)).map((e) => path.join(dir, e.name));
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!);
  }
}

/**
 * The directories under the roots (the roots included), counted up to `cap`: an upper bound on
 * the data dirs they hold, read without the registry (so while it loads), and cheap to read since
 * it stops at `cap`. Symbolic links are not followed; unreadable directories count as one.
 */
export function countDirs(roots: readonly string[], cap: number): number {
  const stack = roots.map((r) => path.resolve(r));
  let count = 0;
  while (stack.length > 0 && count < cap) {
    const dir = stack.pop()!;
    count++;
    try {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) stack.push(path.join(dir, e.name));
    } catch {
      // Discovery reports it.
    }
  }
  return count;
}
