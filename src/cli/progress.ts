/**
 * A progress bar on stderr for long fleet runs: files done / total, rate, time left.
 * Drawn only when stderr is a terminal (the caller decides), at most ten times a second.
 */
import type { FleetProgress } from '../fleet/run.js';

export class ProgressBar {
  readonly #write: (t: string) => void;
  readonly #label: string;
  readonly #start = Date.now();
  readonly #width: number;
  #last = 0;
  #drawn = false;

  constructor(write: (t: string) => void, env: NodeJS.ProcessEnv, label: string) {
    this.#write = write;
    this.#label = label;
    this.#width = Math.max(10, Math.min(40, Number(env.COLUMNS ?? 80) - 60));
  }

  update(p: FleetProgress): void {
    const now = Date.now();
    if (now - this.#last < 100 && p.dirsDone < p.dirsTotal) return;
    this.#last = now;
    this.#write(`\r${ProgressBar.line(p, (now - this.#start) / 1000, this.#width, this.#label)}\u001b[K`);
    this.#drawn = true;
  }

  /** Clears the bar so the report that follows starts on a clean line. */
  done(): void {
    if (this.#drawn) this.#write('\r\u001b[K');
  }

  /** The text of one frame, e.g. `check [#####.....] 1200/3000 files  800/s  ETA 2s`. */
  static line(p: FleetProgress, seconds: number, width: number, label: string): string {
    const frac = p.storesTotal === 0 ? 1 : p.storesDone / p.storesTotal;
    const fill = Math.round(frac * width);
    const rate = seconds > 0 ? p.storesDone / seconds : 0;
    const left = rate > 0 ? (p.storesTotal - p.storesDone) / rate : 0;
    const eta = left >= 60 ? `${Math.floor(left / 60)}m${String(Math.round(left % 60)).padStart(2, '0')}s` : `${Math.ceil(left)}s`;
    return `${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${p.storesDone}/${p.storesTotal} files  ${Math.round(rate)}/s  ETA ${eta}`;
  }
}
