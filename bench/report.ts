// The bench report: one JSON document and its Markdown rendering, written as latest.* and timestamped copies.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CPU_ROLES, cpuByRole } from './cpu-meter';
import type { LoadResult } from './load';
import { byService, type BenchReport, type BurstResult, type ColdBurstReport, type CpuPerRequest } from './results';
import { cpuRatios } from './targets';

const num = (n: number | undefined, digits = 1) => (n === undefined ? '–' : n.toFixed(digits));
const ratio = (a: number, b: number | undefined) => (b ? `${((a / b) * 100).toFixed(0)}%` : '–');
const loadCells = (r: LoadResult) => `${num(r.requestsPerSecond)} | ${r.latencyMs.p50} | ${r.latencyMs.p99} | ${r.latencyMs.max} | ${r.errors}`;

function header(report: BenchReport): string[] {
  const { settings, stack } = report;
  const limits =
    stack.rateLimits === 'as configured'
      ? 'as configured'
      : Object.entries(stack.rateLimits)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ');
  return [
    `# Benchmark ${report.startedAt}${settings.quick ? ' (--quick smoke run: short loads, not for comparison)' : ''}`,
    '',
    `Machine: ${report.machine.cpus} cores (${report.machine.cpuModel}), ${report.machine.memoryGb} GB, Node ${report.machine.node}; ` +
      `1-minute load average ${report.machine.loadAverage.before} before the run, ${report.machine.loadAverage.after} after (the bench's own load included; anything else running skews the numbers).`,
    `Each load scenario: ${settings.connections} connections, ${settings.warmupSeconds} s warm-up, then ${settings.durationSeconds} s measured. Scenarios run: ${settings.scenarios.join(', ')}.`,
    `Load generator: ${report.loadGenerator}.`,
    `Stack: ${stack.url} (${stack.startedByBench ? `started by the bench in ${num(stack.startupSeconds)} s` : 'already running'}), serverless-offline ${stack.offlineMode}; edge rate limits: ${limits}.`,
  ];
}

function throughput(report: BenchReport): string[] {
  if (!report.scenarios.length) return [];
  const lines = [
    '',
    '## Through the stack (HAProxy → serverless-offline) vs direct (one plain fastify process per service)',
    '',
    '| scenario | path | req/s | p50 ms | p99 ms | max ms | errors | stack / direct (req/s) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const s of report.scenarios) {
    lines.push(`| ${s.title} | stack | ${loadCells(s.stack)} | ${ratio(s.stack.requestsPerSecond, s.direct?.requestsPerSecond)} |`);
    if (s.direct) lines.push(`| | direct | ${loadCells(s.direct)} | |`);
  }
  if (report.fixedRate)
    lines.push(
      `| ${report.scenarios.find((s) => s.id === report.fixedRate!.id)?.title ?? report.fixedRate.id} at ${report.fixedRate.offeredPerSecond} req/s offered | stack | ${loadCells(report.fixedRate.stack)} | |`,
    );
  const first = report.firstSeconds;
  if (first) {
    const after = first.startedAfterHealthyMs === undefined ? 'a running stack' : `from ${(first.startedAfterHealthyMs / 1000).toFixed(1)} s after healthy`;
    lines.push(
      `| ${report.scenarios.find((s) => s.id === first.id)?.title ?? first.id}, the first ${first.stack.durationSeconds ?? 10} s (${after}, no warm-up) | stack | ${loadCells(first.stack)} | |`,
    );
  }
  lines.push('', 'req/s counts 2xx answers only; errors = non-2xx answers + socket errors + timeouts.');
  const ic = report.stack.ingressConnections;
  if (ic)
    lines.push(`HAProxy → app backend connections during the run: ${ic.connects} opened, ${ic.reuses} requests on reused ones (health checks open their own).`);
  if (report.bcrypt) {
    const token = report.scenarios.find((s) => s.id === 'token');
    lines.push(
      '',
      '## bcrypt ceiling',
      '',
      `Raw \`bcrypt.compare\` at cost ${report.bcrypt.cost} on all cores (${report.bcrypt.concurrency} in flight, thread pool ${report.bcrypt.threadpool}): **${num(report.bcrypt.comparesPerSecond)} compares/s**.` +
        (token
          ? ` POST /token through the stack: ${num(token.stack.requestsPerSecond)}/s = ${ratio(token.stack.requestsPerSecond, report.bcrypt.comparesPerSecond)} of it.`
          : ''),
    );
  }
  return lines;
}

function cpuRow(title: string, path: string, load: LoadResult, cpu: CpuPerRequest | undefined): string {
  const lead = `|${title ? ` ${title} ` : ' '}| ${path} | ${num(load.requestsPerSecond)}`;
  if (!cpu) return `${lead} | ${load.requests} | ${CPU_ROLES.map(() => '–').join(' | ')} | – | – | – |`;
  const roles = cpuByRole(cpu);
  const instances = Object.entries(cpu.perHandled ?? {}).filter(([name]) => name.startsWith('app-backend'));
  const cell = (role: string) => (roles[role] === undefined ? '–' : num(roles[role], 0));
  const perInstance = instances.length ? instances.map(([, h]) => num(h.us, 0)).join(' / ') : '–';
  const [backend, ...rest] = CPU_ROLES.map((r) => r.role);
  const others = rest.filter((r) => r !== 'load generator');
  return `${lead} | ${cpu.answers} | ${cell(backend)} | ${perInstance} | ${others.map(cell).join(' | ')} | **${num(cpu.totalUs, 0)}** | ${cell('load generator')} | ${num(cpu.resolutionUs)} |`;
}

function cpuSection(report: BenchReport): string[] {
  const measured = report.scenarios.some((s) => s.stackCpu || s.directCpu) || report.fixedRate?.stackCpu;
  if (!measured) return [];
  const rows: string[] = [];
  for (const s of report.scenarios) {
    rows.push(cpuRow(s.title, 'stack', s.stack, s.stackCpu));
    if (s.direct) rows.push(cpuRow('', 'direct', s.direct, s.directCpu));
  }
  const f = report.fixedRate;
  if (f)
    rows.push(cpuRow(`${report.scenarios.find((s) => s.id === f.id)?.title ?? f.id} at ${f.offeredPerSecond} req/s offered`, 'stack', f.stack, f.stackCpu));
  const r = cpuRatios(report);
  const x = (v: number | undefined) => (v === undefined ? 'not measured' : `**${v.toFixed(2)}×**`);
  return [
    '',
    '## CPU per request (µs) by process',
    '',
    "CPU time (user + system, from /proc/<pid>/stat: exact, not sampled) each process group spent during a scenario's measured run (after its warm-up), divided by the answers of that run (every status). " +
      "backend / weather: all instances of that service, each its process tree; per backend instance: its CPU per request HAProxy sent it in the run; runner: the process relaying the services' log lines (the bench itself when it started the stack); " +
      'total: every process but the load generator; ±: one clock tick of one process spread over the answers (docs/benchmarks.md).',
    '',
    '| scenario | path | req/s | answers | backend | per backend instance | weather | HAProxy | Postgres | stand-in | runner | total | load generator | ± |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `Through the stack: cached weather / \`GET /user/{id}\`, every process: ${x(r.weatherToUser)} (target ≤ 1.8×); weather backend hop / /user backend hop: ${x(r.backendHop)} (≤ 1.2×); ` +
      `weather-service hop / /user backend hop: ${x(r.weatherHop)} (≤ 1.0×); the runner's µs per answer: see the targets (≤ 10 µs).`,
  ];
}

function runtimeSection(report: BenchReport): string[] {
  const r = report.runtime;
  if (!r) return [];
  const row = (label: string, xs: typeof r.patched) =>
    `| ${label} | ${xs.map((s) => s.ms).join(', ')} | ${xs.map((s) => Math.round((s.ms * 1000) / s.invocations) / 1000).join(', ')} | ${xs.map((s) => s.heapMb).join(', ')} | ${xs.map((s) => s.rssMb).join(', ')} |`;
  return [
    '',
    "## The local runtime's own cost (serverless-offline per invocation, no HTTP)",
    '',
    `${r.invocations} invocations of a trivial handler per process (LambdaFunction.runHandler + the event's CLF time), patched (local/patches) and unpatched alternated: **patched / unpatched time ${r.timeRatio}**.`,
    '',
    '| serverless-offline | ms per run | ms per invocation | heap after MB | RSS after MB |',
    '| --- | --- | --- | --- | --- |',
    row('patched (as installed)', r.patched),
    row('unpatched (patch reversed)', r.unpatched),
  ];
}

function burstSection(report: BenchReport): string[] {
  const rows = (label: string, b: ColdBurstReport | undefined) =>
    b
      ? [b.oneCity, b.manyCities].map(
          (x, i) =>
            `| ${label} | ${x.requests} requests, ${i === 0 ? '1 uncached city' : `${x.cities} uncached cities`} | ${x.ms} | ${statuses(x)} | ${x.upstreamCalls ?? 'not counted'} |`,
        )
      : [];
  const { stack, direct } = report.coldBurst;
  if (!stack && !direct) return [];
  return [
    '',
    '## Cold burst (all requests sent at once)',
    '',
    '| path | burst | total ms | answers | upstream calls |',
    '| --- | --- | ---: | --- | ---: |',
    ...rows('stack', stack),
    ...rows('direct', direct),
  ];
}

function memorySections(report: BenchReport): string[] {
  const lines: string[] = [];
  const idle = report.stack.idleMemory;
  if (idle) {
    lines.push(
      '',
      '## Stack memory at idle (after startup, before any load)',
      '',
      `Sum over the stack's process trees: **RSS ${num(idle.rssMb)} MB**, PSS ${num(idle.pssMb)} MB (PSS shares pages mapped by several processes, e.g. Postgres shared buffers).`,
      '',
      '| service | processes | RSS MB | PSS MB |',
      '| --- | ---: | ---: | ---: |',
      ...byService(idle).map((s) => `| ${s.service} | ${s.processes} | ${s.rssMb} | ${s.pssMb} |`),
    );
  }
  const m = report.memory;
  if (m) {
    lines.push(
      '',
      `## Memory under load (${m.loadSeconds} s of GET /user/{id}, then ${m.restSeconds} s of rest)`,
      '',
      `Load: ${num(m.load.requestsPerSecond)} req/s, p99 ${m.load.latencyMs.p99} ms, errors ${m.load.errors}. RSS per service (its process tree), sampled every 2 s.`,
      '',
      '| service | idle MB | peak during load MB | after rest MB |',
      '| --- | ---: | ---: | ---: |',
      ...m.services.map((s) => `| ${s.service} | ${s.idleMb ?? '–'} | ${s.peakMb} | ${s.afterMb} |`),
    );
    if (m.breakdown?.length) {
      lines.push(
        '',
        "What a node service's RSS is made of (process.memoryUsage() and V8 heap spaces, MB; live heap = heap used after a full GC the hook forces after the rest, the last reading; modules = entries in require.cache):",
        '',
        '| service | when | RSS | heap used | live heap | heap total | external | old space | new space | code space | modules |',
        '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        ...m.breakdown.map(
          (b) =>
            `| ${b.service} | ${b.at} | ${b.usage.rss} | ${b.usage.heapUsed} | ${b.liveHeapMb ?? '–'} | ${b.usage.heapTotal} | ${b.usage.external} | ${b.spaces.old_space ?? '–'} | ${b.spaces.new_space ?? '–'} | ${b.spaces.code_space ?? '–'} | ${b.modules} |`,
        ),
      );
    }
  }
  return lines;
}

function scaleSections(report: BenchReport): string[] {
  const lines: string[] = [];
  if (report.cores?.length) {
    lines.push(
      '',
      '## Cores (cached weather, stack pinned with taskset)',
      '',
      '| cores | stack CPUs | load generator | req/s | p99 ms | errors |',
      '| ---: | --- | --- | ---: | ---: | ---: |',
      ...report.cores.map(
        (c) => `| ${c.cores} | ${c.stackCpus} | ${c.loadGenerator} | ${num(c.result.requestsPerSecond)} | ${c.result.latencyMs.p99} | ${c.result.errors} |`,
      ),
    );
  }
  if (report.replicas?.length) {
    const first = report.replicas[0].result.requestsPerSecond;
    lines.push(
      '',
      '## Weather replicas (cached weather, a stack per count)',
      '',
      '| replicas asked | running | req/s | vs 1 | p99 ms | errors |',
      '| ---: | ---: | ---: | ---: | ---: | ---: |',
      ...report.replicas.map(
        (r) =>
          `| ${r.asked} | ${r.running} | ${num(r.result.requestsPerSecond)} | ${ratio(r.result.requestsPerSecond, first)} | ${r.result.latencyMs.p99} | ${r.result.errors} |`,
      ),
    );
  }
  const cs = report.coldStarts;
  if (cs) {
    const kb = (bytes: number | undefined) => (bytes === undefined ? '–' : Math.round(bytes / 1024));
    lines.push(
      '',
      `## Cold starts (packaged zips for stage ci, fresh Node 22 process each behind a Runtime API, median of ${cs.repeats})`,
      '',
      "ms since the process was spawned: handler loaded (first poll), first API Gateway event answered (test/deployed/support/cold-start.ts); ratio = answered / the floor's answered.",
      '',
      '| service | function | zip KB | loaded ms | answered ms | ratio to floor |',
      '| --- | --- | ---: | ---: | ---: | ---: |',
      `| floor | ${cs.floor.fn} | ${kb(cs.floor.zipBytes)} | ${cs.floor.loadedMs} | ${cs.floor.answeredMs} | 1.00 |`,
      ...cs.functions.map((f) => `| ${f.service} | ${f.fn} | ${kb(f.zipBytes)} | ${f.loadedMs} | ${f.answeredMs} | ${num(f.ratioToFloor, 2)} |`),
      ...cs.failures.map((f) => `\nnot measured: ${f}`),
    );
  }
  return lines;
}

export function reportMarkdown(report: BenchReport): string {
  const lines = [
    ...header(report),
    ...throughput(report),
    ...cpuSection(report),
    ...runtimeSection(report),
    ...burstSection(report),
    ...memorySections(report),
    ...scaleSections(report),
  ];
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
