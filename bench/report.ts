// The bench report: one JSON document and its Markdown rendering, written as latest.* and timestamped copies.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BcryptCeiling } from './bcrypt-ceiling';
import type { LoadResult } from './load';
import type { TreeMemory } from './memory';

export interface ScenarioReport {
  id: string;
  title: string;
  stack: LoadResult;
  direct?: LoadResult;
}

export interface BurstResult {
  requests: number;
  cities: number;
  ms: number;
  /** answers by status ("error" for requests that got none) */
  statuses: Record<string, number>;
  /** weather requests the stand-in received during the burst; undefined when it could not be asked */
  upstreamCalls?: number;
}

export interface ColdBurstReport {
  oneCity: BurstResult;
  manyCities: BurstResult;
}

export interface Target {
  what: string;
  target: string;
  actual: string;
  met: boolean | undefined;
}

export interface BenchReport {
  startedAt: string;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; loadAverage: { before: number; after: number } };
  settings: { connections: number; durationSeconds: number; warmupSeconds: number; bcryptCost: number };
  loadGenerator: string;
  stack: {
    url: string;
    startedByBench: boolean;
    startupSeconds?: number;
    offlineMode: string;
    rateLimit: string;
    idleMemory?: TreeMemory;
    /** HAProxy → app backend connections over the whole run: opened vs reused (health checks included) */
    ingressConnections?: { connects: number; reuses: number };
  };
  scenarios: ScenarioReport[];
  bcrypt?: BcryptCeiling;
  coldBurst: { stack?: ColdBurstReport; direct?: ColdBurstReport };
  targets: Target[];
  notes: string[];
}

const num = (n: number | undefined, digits = 1) => (n === undefined ? '–' : n.toFixed(digits));
const ratio = (a: number, b: number | undefined) => (b ? `${((a / b) * 100).toFixed(0)}%` : '–');

function loadRow(label: string, r: LoadResult | undefined): string {
  if (!r) return `| ${label} | – | – | – | – | – |`;
  return `| ${label} | ${num(r.requestsPerSecond)} | ${r.latencyMs.p50} | ${r.latencyMs.p99} | ${r.latencyMs.max} | ${r.errors} |`;
}

export function reportMarkdown(report: BenchReport): string {
  const { settings, stack } = report;
  const lines: string[] = [
    `# Benchmark ${report.startedAt}`,
    '',
    `Machine: ${report.machine.cpus} cores (${report.machine.cpuModel}), ${report.machine.memoryGb} GB, Node ${report.machine.node}; ` +
      `1-minute load average ${report.machine.loadAverage.before} before the run, ${report.machine.loadAverage.after} after (the bench's own load included; anything else running skews the numbers).`,
    `Each scenario: ${settings.connections} connections, ${settings.warmupSeconds} s warm-up, then ${settings.durationSeconds} s measured.`,
    `Load generator: ${report.loadGenerator}.`,
    `Stack: ${stack.url} (${stack.startedByBench ? `started by the bench in ${num(stack.startupSeconds)} s` : 'already running'}), serverless-offline ${stack.offlineMode}, rate limit: ${stack.rateLimit}.`,
    '',
    '## Through the stack (HAProxy → serverless-offline ×2) vs direct (one plain fastify process per service)',
    '',
    '| scenario | path | req/s | p50 ms | p99 ms | max ms | errors | stack / direct (req/s) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const s of report.scenarios) {
    const cells = (r: LoadResult | undefined) => loadRow('', r).split('|').slice(2, -1).join('|');
    lines.push(`| ${s.title} | stack |${cells(s.stack)}| ${ratio(s.stack.requestsPerSecond, s.direct?.requestsPerSecond)} |`);
    if (s.direct) lines.push(`| | direct |${cells(s.direct)}| |`);
  }
  lines.push('', 'req/s counts 2xx answers only; errors = non-2xx answers + socket errors + timeouts.');
  if (stack.ingressConnections) {
    const { connects, reuses } = stack.ingressConnections;
    lines.push(`HAProxy → app backend connections during the run: ${connects} opened, ${reuses} requests on reused ones (health checks open their own).`);
  }
  if (report.bcrypt) {
    const token = report.scenarios.find((s) => s.id === 'token');
    lines.push(
      '',
      '## bcrypt ceiling',
      '',
      `Raw \`bcrypt.compare\` at cost ${report.bcrypt.cost} on all cores (${report.bcrypt.concurrency} in flight, thread pool ${report.bcrypt.threadpool}): ` +
        `**${num(report.bcrypt.comparesPerSecond)} compares/s**.` +
        (token ? ` POST /token through the stack: ${num(token.stack.requestsPerSecond)}/s = ${ratio(token.stack.requestsPerSecond, report.bcrypt.comparesPerSecond)} of it.` : ''),
    );
  }
  const burstRows = (label: string, b: ColdBurstReport | undefined) =>
    b
      ? [
          `| ${label} | ${b.oneCity.requests} requests, 1 uncached city | ${b.oneCity.ms} | ${statuses(b.oneCity)} | ${b.oneCity.upstreamCalls ?? 'not counted'} |`,
          `| ${label} | ${b.manyCities.requests} requests, ${b.manyCities.cities} uncached cities | ${b.manyCities.ms} | ${statuses(b.manyCities)} | ${b.manyCities.upstreamCalls ?? 'not counted'} |`,
        ]
      : [];
  lines.push(
    '',
    '## Cold burst (all requests sent at once)',
    '',
    '| path | burst | total ms | answers | upstream calls |',
    '| --- | --- | ---: | --- | ---: |',
    ...burstRows('stack', report.coldBurst.stack),
    ...burstRows('direct', report.coldBurst.direct),
  );
  if (stack.idleMemory) {
    const byService = new Map<string, { n: number; rss: number; pss: number }>();
    for (const p of stack.idleMemory.processes) {
      const e = byService.get(p.service) ?? { n: 0, rss: 0, pss: 0 };
      byService.set(p.service, { n: e.n + 1, rss: e.rss + p.rssMb, pss: e.pss + p.pssMb });
    }
    lines.push(
      '',
      '## Stack memory at idle (after startup, before any load)',
      '',
      `Sum over the stack's process trees: **RSS ${num(stack.idleMemory.rssMb)} MB**, PSS ${num(stack.idleMemory.pssMb)} MB (PSS shares pages mapped by several processes, e.g. Postgres shared buffers).`,
      '',
      '| service | processes | RSS MB | PSS MB |',
      '| --- | ---: | ---: | ---: |',
      ...[...byService.entries()].sort((a, b) => b[1].rss - a[1].rss).map(([name, e]) => `| ${name} | ${e.n} | ${num(e.rss)} | ${num(e.pss)} |`),
    );
  }
  lines.push('', '## Targets', '', '| what | target | actual | met |', '| --- | --- | --- | --- |');
  for (const t of report.targets) lines.push(`| ${t.what} | ${t.target} | ${t.actual} | ${t.met === undefined ? 'not measured' : t.met ? 'yes' : '**no**'} |`);
  if (report.notes.length) lines.push('', '## Notes', '', ...report.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

function statuses(b: BurstResult): string {
  return Object.entries(b.statuses)
    .map(([status, n]) => `${n}× ${status}`)
    .join(', ');
}

/** Writes timestamped copies (git-ignored) and, given a name, `<name>.{md,json}` too. */
export function writeReport(dir: string, report: BenchReport, name?: string): string[] {
  mkdirSync(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const markdown = reportMarkdown(report);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const written: string[] = [];
  for (const base of name ? [name, stamp] : [stamp]) {
    writeFileSync(join(dir, `${base}.md`), markdown);
    writeFileSync(join(dir, `${base}.json`), json);
    written.push(join(dir, `${base}.md`), join(dir, `${base}.json`));
  }
  return written;
}
