// Renders a Summary as plain text for a terminal: totals, then one bar chart per dashboard panel.
import { SEED_PANELS, type Count, type Summary } from './aggregate';

export interface RenderOptions {
  /** terminal width in columns */
  width: number;
  /** what the header says about where the lines came from and the range */
  source: string;
  range: string;
  services?: string[];
  /** rows per chart before "… and N more" */
  top?: number;
  footer?: string;
}

const number = (n: number) => n.toLocaleString('en-US');
const rate = (n: number) => (n >= 10 ? n.toFixed(0) : n.toFixed(2));

// C0/C1 controls (escape sequences, carriage returns, bells) and bidirectional overrides would let a logged value
// rewrite the operator's terminal: they are removed before anything from a log line is printed.
const UNPRINTABLE = /[\p{Cc}\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu;

/** The text with every control character removed. */
export function printable(value: string): string {
  return value.replace(UNPRINTABLE, '');
}

function clip(value: string, width: number): string {
  return value.length <= width ? value : `${value.slice(0, Math.max(1, width - 1))}…`;
}

/** A horizontal bar chart, largest first, scaled to the largest value. */
export function barChart(title: string, counts: Count[], width: number, top = 10): string[] {
  const total = counts.reduce((sum, c) => sum + c.count, 0);
  const lines = [`${title}  (${number(total)})`];
  if (counts.length === 0) return [...lines, '  none in range'];
  const shown = counts.slice(0, top).map((c) => ({ ...c, key: printable(c.key) }));
  const nameWidth = Math.min(24, Math.max(...shown.map((c) => c.key.length)));
  const countWidth = Math.max(...shown.map((c) => number(c.count).length));
  const barWidth = Math.min(50, Math.max(5, width - nameWidth - countWidth - 6));
  const max = shown[0].count;
  for (const c of shown) {
    const length = Math.max(1, Math.round((c.count / max) * barWidth));
    lines.push(`  ${clip(c.key, nameWidth).padEnd(nameWidth)} ${'█'.repeat(length)} ${number(c.count)}`);
  }
  const rest = counts.slice(top);
  if (rest.length) lines.push(`  … and ${rest.length} more (${number(rest.reduce((sum, c) => sum + c.count, 0))})`);
  return lines;
}

export function renderSummary(summary: Summary, options: RenderOptions): string {
  const { totals, http } = summary;
  const width = Math.max(40, Math.min(options.width, 120));
  const at = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
  const filter = options.services?.length ? `  service: ${options.services.join(', ')}` : '';
  const out = [
    `Weather & users platform — ${options.source}`,
    `last ${options.range}: ${at(summary.from)} → ${at(summary.to)} UTC${filter}`,
    '',
    'Ingress (HAProxy access log)',
    `  requests ${number(http.requests)}   ${rate(http.perSecond)}/s over the range   ${rate(http.perSecondLastMinute)}/s last minute`,
    `  4xx ${number(http.client4xx)}   5xx ${number(http.server5xx)}` +
      (http.byBackend.length ? `   by backend: ${http.byBackend.map((b) => `${b.key} ${number(b.count)}`).join(', ')}` : ''),
    '',
    'Totals',
    `  cache hits ${number(totals.cacheHits)}   cache misses ${number(totals.cacheMisses)}   upstream calls ${number(totals.externalRequests)}`,
    `  logins ${number(totals.logins)}   failed logins ${number(totals.failedLogins)}   registrations ${number(totals.registrations)}`,
    `  log lines ${number(totals.lines)}   warnings and errors ${number(totals.warningsAndErrors)}`,
    '',
    ...barChart(SEED_PANELS.cacheHits, summary.cacheHitsByCity, width, options.top),
    '',
    ...barChart(SEED_PANELS.externalRequests, summary.externalRequestsByCity, width, options.top),
    '',
    ...barChart(SEED_PANELS.logins, summary.loginsByUsername, width, options.top),
    '',
    ...barChart(SEED_PANELS.failedLogins, summary.failedLoginsByUsername, width, options.top),
  ];
  if (options.footer) out.push('', options.footer);
  return `${out.map(printable).join('\n')}\n`;
}
