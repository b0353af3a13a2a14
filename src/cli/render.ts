/**
 * Human output: readable tables, colour only on a terminal and never under NO_COLOR.
 */
import type { Status } from '../errors.js';
import type { Mode, Report, StoreReport } from '../report.js';
import { isRefusedStatus, needsWork } from '../report.js';
import { describeChange } from '../schema/diff.js';

export interface Style {
  readonly color: boolean;
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, gray: 90, bold: 1 } as const;
type Colour = keyof typeof CODES;

export function paint(style: Style, colour: Colour, text: string): string {
  return style.color ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text;
}

/** Colour on when writing to a terminal, unless NO_COLOR is set (https://no-color.org). */
export function detectColor(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return isTTY && env.TERM !== 'dumb';
}

function statusColour(s: Status): Colour {
  if (s === 'current') return 'green';
  if (needsWork(s)) return 'yellow';
  return 'red';
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function versions(s: StoreReport): string {
  const found = s.version === null ? '-' : `v${s.version}`;
  if (s.action && s.to !== undefined && s.to !== null && s.to !== s.version) return `${found} → v${s.to}`;
  return `${found}/v${s.target}`;
}

function actionText(style: Style, s: StoreReport): string {
  if (!s.action) return '';
  const c: Colour = s.action === 'refused' ? 'red' : s.action === 'unchanged' ? 'gray' : s.action === 'planned' ? 'cyan' : 'green';
  return paint(style, c, s.action);
}

/** The human report of check/up/adopt. */
/** Up to this many data dirs, the report shows a table per dir; past it, the summary only. */
export const TABLE_LIMIT = 10;

export function renderReport(report: Report, mode: Mode, style: Style, options: { dryRun?: boolean; tables?: boolean } = {}): string {
  const lines: string[] = [];
  const nameW = Math.max(6, ...report.registry.map((r) => r.name.length)) + 2;
  const tables = options.tables ?? (report.dirs.length <= TABLE_LIMIT || options.dryRun === true);
  for (const dir of tables ? report.dirs : []) {
    lines.push(paint(style, 'bold', dir.path));
    for (const s of dir.stores) {
      const row = [
        '  ' + pad(s.name, nameW),
        paint(style, statusColour(s.status), pad(s.status, 9)),
        pad(versions(s), 10),
        s.action ? pad(actionText(style, s), 12 + (style.color ? 9 : 0)) : '',
        s.status === 'current' && (!s.action || s.action === 'unchanged') ? '' : s.message,
      ];
      lines.push(row.join(' ').trimEnd());
      if (options.dryRun && s.plan) {
        for (const step of s.plan) {
          const rows = step.rows ? ` — rows touched: ${Object.entries(step.rows).map(([t, n]) => `${t} ${n ?? '?'}`).join(', ')}` : '';
          lines.push(paint(style, step.destructive ? 'red' : 'gray', `      -- ${step.comment}${step.destructive && !step.comment.includes('DESTRUCTIVE') ? ' (destructive)' : ''}${rows}`));
          // What the step does to the file's rows (run on a copy): one line per finding.
          if (step.data) {
            if (step.data.length === 0) lines.push(paint(style, 'gray', '      -- rows: no violation, nothing lost'));
            for (const f of step.data) lines.push(paint(style, ['lost', 'map-null'].includes(f.kind) ? 'yellow' : 'red', `      -- rows: ${f.kind} ${f.table}: ${f.rows ?? '?'} (${f.constraint})${f.sample.length > 0 ? ` e.g. ${f.sample.join('; ')}` : ''}`));
          }
          for (const l of step.sql.split('\n')) lines.push(`      ${l}`);
        }
      }
    }
  }
  if (tables) lines.push('');
  lines.push(renderSummary(report, mode, style));
  const pending = report.dirs.flatMap((d) => d.stores).filter((s) => (mode === 'check' && needsWork(s.status)) || s.action === 'planned' || (mode === 'adopt' && s.action === 'unchanged' && needsWork(s.status)));
  if (pending.length > 0) {
    const verb = mode === 'adopt' && pending.every((s) => s.status !== 'legacy') ? 'up' : mode === 'check' ? (pending.every((s) => s.status === 'legacy') ? 'adopt' : 'up') : mode;
    lines.push(paint(style, 'yellow', `${pending.length} store${pending.length === 1 ? '' : 's'} need${pending.length === 1 ? 's' : ''} \`stores ${verb}\`${tables ? '' : ` (\`--json\` lists them)`}`));
  }
  const left = report.dirs.filter((d) => d.leftovers && d.leftovers.length > 0);
  if (left.length > 0) {
    lines.push('');
    lines.push(paint(style, 'yellow', `Leftovers of interrupted runs (never stores; safe to delete once no stores process runs there):`));
    for (const d of left) for (const f of d.leftovers!) lines.push(`  ${d.path}/${f}`);
  }
  const attention = report.dirs.flatMap((d) => d.stores).filter((s) => s.action === 'refused' || (mode === 'check' && isRefusedStatus(s.status)));
  if (attention.length > 0) {
    lines.push('');
    lines.push(paint(style, 'red', `Needs attention (${attention.length}):`));
    for (const s of attention) {
      lines.push(`  ${paint(style, 'red', '✗')} ${s.file}  ${paint(style, 'red', s.status)}`);
      lines.push(`      ${s.message}`);
      // The message already names the first few differences; list them all when there are more.
      const changes = s.changes ?? [];
      if (changes.length > 3) {
        for (const c of changes.slice(0, 12)) lines.push(`      - ${describeChange(c)}`);
        if (changes.length > 12) lines.push(`      - … ${changes.length - 12} more (--json lists every one)`);
      }
    }
  }
  return lines.join('\n') + '\n';
}

function renderSummary(report: Report, mode: Mode, style: Style): string {
  const { summary } = report;
  const byStatus = Object.entries(summary.byStatus)
    .sort((a, b) => b[1]! - a[1]!)
    .map(([k, n]) => paint(style, statusColour(k as Status), `${n} ${k}`))
    .join(', ');
  let text = `${summary.stores} store${summary.stores === 1 ? '' : 's'} in ${summary.dirs} data dir${summary.dirs === 1 ? '' : 's'}: ${byStatus || 'nothing found'}`;
  if (summary.notReached?.length) text += `\n${summary.notReached.length} data dir${summary.notReached.length === 1 ? '' : 's'} not reached (interrupted)`;
  if (mode !== 'check' && summary.byAction) {
    const acts = Object.entries(summary.byAction).map(([k, n]) => `${n} ${k}`).join(', ');
    text += `\n${mode === 'up' ? 'up' : 'adopt'}: ${acts}`;
  }
  return text;
}
