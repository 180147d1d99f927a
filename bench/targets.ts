// The targets of issue 14 (performance and scale) and issue 20 (CPU per request), checked against one run's report.
import { cpuByRole } from './cpu-meter';
import { byService, type BenchReport, type CpuPerRequest, type Target } from './results';

const pct = (r: number) => `${(r * 100).toFixed(0)}%`;
const isInstance = (service: string) => /^(app-backend|weather)/.test(service);

function directShare(report: BenchReport, id: string, share: number): Target[] {
  const s = report.scenarios.find((x) => x.id === id);
  if (!s) return [];
  const r = s.direct ? s.stack.requestsPerSecond / s.direct.requestsPerSecond : undefined;
  return [
    {
      what: `${s.title}: stack / direct req/s`,
      target: `≥ ${pct(share)}`,
      actual: r === undefined ? 'no baseline' : `${pct(r)} (${s.stack.requestsPerSecond} / ${s.direct!.requestsPerSecond})`,
      met: r === undefined ? undefined : r >= share,
    },
  ];
}

function weatherTargets(report: BenchReport): Target[] {
  const w = report.scenarios.find((s) => s.id === 'weather-hit');
  const list = directShare(report, 'weather-hit', 0.55);
  if (w) {
    list.push({ what: 'weather cache hit: p99 at 32 connections', target: '≤ 80 ms', actual: `${w.stack.latencyMs.p99} ms`, met: w.stack.latencyMs.p99 <= 80 });
    list.push({ what: 'weather cache hit: errors', target: '0', actual: String(w.stack.errors), met: w.stack.errors === 0 });
  }
  const first = report.firstSeconds;
  if (w && first) {
    const r = first.stack.latencyMs.p99 / w.stack.latencyMs.p99;
    list.push({
      what: 'weather cache hit: p99 in the first 10 s after healthy / steady-state p99',
      target: '≤ 1.5×',
      actual: `${r.toFixed(2)}× (${first.stack.latencyMs.p99} / ${w.stack.latencyMs.p99} ms; ${first.stack.requestsPerSecond} vs ${w.stack.requestsPerSecond} req/s)`,
      met: first.startedAfterHealthyMs === undefined ? undefined : r <= 1.5,
    });
  }
  const f = report.fixedRate;
  if (f)
    list.push({
      what: `weather cache hit: p99 at ${f.offeredPerSecond} req/s offered`,
      target: '≤ 50 ms',
      actual: `${f.stack.latencyMs.p99} ms (${f.stack.requestsPerSecond} req/s served)`,
      met: f.stack.latencyMs.p99 <= 50,
    });
  return list;
}

function tokenAndBurst(report: BenchReport): Target[] {
  const list: Target[] = [];
  const token = report.scenarios.find((s) => s.id === 'token');
  if (token) {
    const r = report.bcrypt ? token.stack.requestsPerSecond / report.bcrypt.comparesPerSecond : undefined;
    list.push({
      what: 'POST /token / bcrypt ceiling',
      target: '≥ 80%',
      actual: r === undefined ? 'not measured' : `${pct(r)} (${token.stack.requestsPerSecond} / ${report.bcrypt!.comparesPerSecond})`,
      met: r === undefined ? undefined : r >= 0.8,
    });
  }
  const one = report.coldBurst.stack?.oneCity;
  if (one)
    list.push({
      what: 'cold burst, 100 × one city: upstream calls',
      target: 'exactly 1',
      actual: one.upstreamCalls === undefined ? 'not counted' : String(one.upstreamCalls),
      met: one.upstreamCalls === undefined ? undefined : one.upstreamCalls === 1,
    });
  return list;
}

function memoryTargets(report: BenchReport): Target[] {
  const list: Target[] = [];
  const idle = report.stack.idleMemory ? byService(report.stack.idleMemory).filter((s) => isInstance(s.service)) : [];
  if (idle.length) {
    const worst = Math.max(...idle.map((s) => s.rssMb));
    list.push({
      what: 'idle RSS per serverless-offline instance (largest)',
      target: '≤ 120 MB',
      actual: idle.map((s) => `${s.service} ${s.rssMb}`).join(', '),
      met: worst <= 120,
    });
  }
  const m = report.memory?.services.filter((s) => isInstance(s.service)) ?? [];
  if (m.length) {
    const worst = Math.max(...m.flatMap((s) => [s.peakMb, s.afterMb]));
    list.push({
      what: `RSS per instance during and after ${report.memory!.loadSeconds} s of GET /user/{id} (largest)`,
      target: '≤ 250 MB',
      actual: `${worst} MB`,
      met: worst <= 250,
    });
  }
  return list;
}

function coldStartTargets(report: BenchReport): Target[] {
  const cs = report.coldStarts;
  if (!cs?.functions.length) return [];
  const bcryptBound = (fn: string) => fn === 'register' || fn === 'token';
  const timed = cs.functions.filter((f) => !bcryptBound(f.fn));
  const slow = timed.filter((f) => (f.ratioToFloor ?? Infinity) > 1.25);
  const big = cs.functions.filter((f) => (f.zipBytes ?? 0) > (f.fn === 'docs' ? 2 * 2 ** 20 : 600 * 1024));
  return [
    {
      what: 'cold start to first answer, all but register/token',
      target: '≤ 1.25× the floor',
      actual: slow.length ? `over: ${slow.map((f) => `${f.service}/${f.fn} ${f.ratioToFloor}×`).join(', ')}` : `all ≤ 1.25× (floor ${cs.floor.answeredMs} ms)`,
      met: slow.length === 0,
    },
    {
      what: 'zip size (docs ≤ 2 MB)',
      target: '≤ 600 KB',
      actual: big.length ? `over: ${big.map((f) => `${f.service}/${f.fn} ${Math.round((f.zipBytes ?? 0) / 1024)} KB`).join(', ')}` : 'all within',
      met: big.length === 0,
    },
  ];
}

const times = (r: number) => `${r.toFixed(2)}×`;

/** The CPU ratios of issue 20 from the runs through the stack; undefined where a side was not measured. */
export function cpuRatios(report: BenchReport): { weatherToUser?: number; backendHop?: number; weatherHop?: number } {
  const cpu = (id: string) => report.scenarios.find((s) => s.id === id)?.stackCpu;
  const [weather, user] = [cpu('weather-hit'), cpu('user-get')];
  const [w, u] = [weather && cpuByRole(weather), user && cpuByRole(user)];
  const over = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? a / b : undefined);
  return {
    weatherToUser: over(weather?.totalUs, user?.totalUs),
    backendHop: over(w?.backend, u?.backend),
    weatherHop: over(w?.weather, u?.backend),
  };
}

/** The scenarios whose runner figure is judged: thousands of answers each, so a clock tick is a few µs of it. */
const RUNNER_JUDGED = ['weather-hit', 'user-get', 'health'];

function cpuTargets(report: BenchReport): Target[] {
  const cpu = (id: string) => report.scenarios.find((s) => s.id === id)?.stackCpu;
  const [weather, user] = [cpu('weather-hit'), cpu('user-get')];
  if (!weather && !user) return [];
  const r = cpuRatios(report);
  const role = (c: CpuPerRequest | undefined, name: string) => (c ? cpuByRole(c)[name] : undefined);
  const ratioTarget = (what: string, limit: number, ratio: number | undefined, a: number | undefined, b: number | undefined): Target => ({
    what: `CPU per answer: ${what}`,
    target: `≤ ${times(limit)}`,
    actual: ratio === undefined ? 'not measured' : `${times(ratio)} (${a} / ${b} µs)`,
    met: ratio === undefined ? undefined : ratio <= limit,
  });
  const runner = RUNNER_JUDGED.flatMap((id) => {
    const us = role(cpu(id), 'runner');
    return us === undefined ? [] : [{ id, us }];
  });
  return [
    ratioTarget('cached weather / GET /user/{id}, every process but the load generator', 1.8, r.weatherToUser, weather?.totalUs, user?.totalUs),
    ratioTarget('weather backend hop / /user backend hop', 1.2, r.backendHop, role(weather, 'backend'), role(user, 'backend')),
    ratioTarget('weather-service hop / /user backend hop', 1.0, r.weatherHop, role(weather, 'weather'), role(user, 'backend')),
    {
      what: `CPU per answer: the runner (relaying log lines), ${RUNNER_JUDGED.join(', ')} through the stack`,
      target: '≤ 10 µs',
      actual: runner.length ? runner.map((x) => `${x.id} ${x.us} µs`).join(', ') : 'not measured',
      met: runner.length ? runner.every((x) => x.us <= 10) : undefined,
    },
  ];
}

export function targets(report: BenchReport): Target[] {
  return [
    ...weatherTargets(report),
    ...directShare(report, 'user-get', 0.4),
    ...directShare(report, 'health', 0.42),
    ...tokenAndBurst(report),
    ...cpuTargets(report),
    ...memoryTargets(report),
    ...coldStartTargets(report),
  ];
}
