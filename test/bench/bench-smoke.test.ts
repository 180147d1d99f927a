// Smoke checks of the bench's parts without a stack (nothing here is timed): options, the stats parser, the load
// generator against a real local server, the runtime-cost probe, the cold-start floor measured the as-deployed way, and the
// report with its targets. `npm run bench -- --quick` is the smoke run of the whole bench against a stack.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { CpuMeter, LOAD_GENERATOR, RUNNER } from '../../bench/cpu-meter';
import { parseOptions, SCENARIO_IDS } from '../../bench/options';
import { reportMarkdown } from '../../bench/report';
import { runLoad } from '../../bench/requests';
import type { BenchReport, CpuPerRequest } from '../../bench/results';
import { measureFloor } from '../../bench/scenarios/cold-starts';
import { targets } from '../../bench/targets';
import { parseStatsCsv, serverRows } from '../../local/services/haproxy-stats';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');

describe('bench options', () => {
  it('defaults to every scenario, and --quick shortens the loads', () => {
    expect(parseOptions([])!.scenarios).toEqual([...SCENARIO_IDS]);
    const quick = parseOptions(['--quick'])!;
    expect(quick.durationSeconds).toBeLessThan(parseOptions([])!.durationSeconds);
    expect(quick.memoryLoadSeconds).toBeLessThan(parseOptions([])!.memoryLoadSeconds);
  });

  it('selects with --only and --skip and refuses unknown names and values', () => {
    expect(parseOptions(['--only', 'health,runtime'])!.scenarios).toEqual(['runtime', 'health']);
    expect(parseOptions(['--skip', 'replicas,cold-starts'])!.scenarios).not.toContain('replicas');
    expect(() => parseOptions(['--only', 'nope'])).toThrow(/unknown scenario nope/);
    expect(() => parseOptions(['--duration', '0'])).toThrow(/--duration/);
    expect(() => parseOptions(['--bogus'])).toThrow();
    expect(parseOptions(['--help'])).toBeUndefined();
  });
});

describe('HAProxy stats parser', () => {
  it("keys each row by column and picks a backend's servers", () => {
    const csv =
      '# pxname,svname,status,connect,reuse\napi,FRONTEND,OPEN,,\napp_backend,app-backend-1,UP,5,90\napp_backend,app-backend-2,DOWN,3,10\napp_backend,BACKEND,UP,8,100\n';
    const servers = serverRows(parseStatsCsv(csv), 'app_backend');
    expect(servers.map((s) => [s.svname, s.status, s.connect])).toEqual([
      ['app-backend-1', 'UP', '5'],
      ['app-backend-2', 'DOWN', '3'],
    ]);
  });
});

describe('bench probes', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => res.end(req.url === '/fail' ? ((res.statusCode = 500), 'no') : 'ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('the load generator counts 2xx answers and errors of a real server', async () => {
    const ok = await runLoad({ url: `${url}/`, connections: 2, durationSeconds: 1, warmupSeconds: 0 });
    expect(ok.requestsPerSecond).toBeGreaterThan(0);
    expect(ok.errors).toBe(0);
    const failing = await runLoad({ url: `${url}/fail`, connections: 2, durationSeconds: 1, warmupSeconds: 0 });
    expect(failing.requestsPerSecond).toBe(0);
    expect(failing.errors).toBeGreaterThan(0);
  }, 30_000);

  it('the CPU meter reads the server, the runner and the load generator exactly around the measured run', async () => {
    // a server of its own (a process apart from this one), so its CPU is what the load cost it
    const server = spawn(process.execPath, [
      '-e',
      "require('http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', function () { console.log(this.address().port) })",
    ]);
    try {
      const port = await new Promise<string>((r) => createInterface({ input: server.stdout }).once('line', r));
      const meter = new CpuMeter({ server: { pid: server.pid! }, [RUNNER]: { pid: process.pid, only: 'process' } });
      const result = await runLoad({ url: `http://127.0.0.1:${port}/`, connections: 2, durationSeconds: 2, warmupSeconds: 1 }, undefined, meter);
      const cpu = meter.perRequest(result.requests)!;
      expect(cpu.answers).toBe(result.requests);
      expect(Object.keys(cpu.usPerAnswer).sort()).toEqual([LOAD_GENERATOR, RUNNER, 'server'].sort());
      for (const us of Object.values(cpu.usPerAnswer)) expect(Number.isFinite(us) && us >= 0).toBe(true);
      expect(cpu.usPerAnswer.server).toBeGreaterThan(0);
      expect(cpu.usPerAnswer[LOAD_GENERATOR]).toBeGreaterThan(0);
      // the total leaves the load generator out
      expect(cpu.totalUs).toBeCloseTo(cpu.usPerAnswer.server + cpu.usPerAnswer[RUNNER], 0);
      expect(cpu.processes).toMatchObject({ server: 1, [RUNNER]: 1 });
      expect(cpu.processes[LOAD_GENERATOR]).toBeGreaterThanOrEqual(1);
      expect(cpu.resolutionUs).toBeGreaterThan(0);
    } finally {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill();
      await exited;
    }
  }, 30_000);

  it('the runtime-cost probe invokes serverless-offline and reports its figures', async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, 'bench', 'runtime-invocations.mjs'), '200'], { cwd: ROOT });
    const out = JSON.parse(stdout.trim()) as { invocations: number; ms: number; heapMb: number };
    expect(out.invocations).toBe(200);
    expect(out.ms).toBeGreaterThan(0);
  }, 30_000);

  it('the cold-start floor, packaged like the functions, loads and answers in a fresh Node 22 process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cold-start-floor-'));
    try {
      const floor = await measureFloor(dir, 1);
      expect(floor.zipBytes).toBeGreaterThan(0);
      expect(floor.loadedMs).toBeGreaterThan(0);
      expect(floor.answeredMs).toBeGreaterThanOrEqual(floor.loadedMs);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('bench report', () => {
  /** A CPU reading as the meter makes it: each instance handled half the answers. */
  const cpu = (usPerAnswer: Record<string, number>, answers: number): CpuPerRequest => ({
    answers,
    usPerAnswer: { ...usPerAnswer, [LOAD_GENERATOR]: 400 },
    totalUs: Object.values(usPerAnswer).reduce((a, b) => a + b, 0),
    processes: Object.fromEntries(Object.keys(usPerAnswer).map((name) => [name, 1])),
    perHandled: Object.fromEntries(
      Object.entries(usPerAnswer)
        .filter(([name]) => name.startsWith('app-backend'))
        .map(([name, us]) => [name, { requests: answers / 2, us: us * 2 }]),
    ),
    resolutionUs: 10_000 / answers,
  });
  const load = (rps: number, p99: number) => ({
    requestsPerSecond: rps,
    latencyMs: { p50: 1, p99, max: p99, mean: 1 },
    requests: rps * 10,
    errors: 0,
    non2xx: 0,
    socketErrors: 0,
    timeouts: 0,
    statusCodes: { 200: rps * 10 },
    durationSeconds: 10,
  });
  const report: BenchReport = {
    startedAt: '2026-01-01T00:00:00.000Z',
    machine: { cpus: 2, cpuModel: 'test', memoryGb: 1, node: 'v20', loadAverage: { before: 0, after: 0 } },
    settings: { connections: 32, durationSeconds: 10, warmupSeconds: 2, bcryptCost: 10, quick: false, scenarios: [...SCENARIO_IDS] },
    loadGenerator: 'test',
    stack: { url: 'http://x', startedByBench: true, offlineMode: 'in-process', rateLimits: { RATE_LIMIT_WEATHER_REQUESTS: '1' } },
    scenarios: [
      {
        id: 'weather-hit',
        title: 'weather',
        stack: load(600, 70),
        direct: load(1000, 10),
        stackCpu: cpu({ 'app-backend-1': 650, 'app-backend-2': 640, 'weather-service-1': 851, haproxy: 283, postgres: 2, 'owm-standin': 0, runner: 114 }, 6000),
        directCpu: cpu({ 'direct-backend': 300, 'direct-weather': 200, postgres: 1, runner: 30 }, 10000),
      },
      {
        id: 'user-get',
        title: 'user',
        stack: load(300, 90),
        direct: load(1000, 10),
        stackCpu: cpu({ 'app-backend-1': 330, 'app-backend-2': 310, 'weather-service-1': 1, haproxy: 120, postgres: 60, runner: 9 }, 3000),
      },
    ],
    fixedRate: { id: 'weather-hit', offeredPerSecond: 400, stack: load(400, 60) },
    coldBurst: {},
    memory: { loadSeconds: 120, restSeconds: 60, load: load(300, 90), services: [{ service: 'app-backend-1', idleMb: 110, peakMb: 260, afterMb: 200 }] },
    replicas: [
      { asked: 1, running: 1, result: load(500, 80) },
      { asked: 2, running: 2, result: load(800, 60) },
    ],
    targets: [],
    notes: [],
  };

  it('checks the targets from the figures and renders every section it has', () => {
    const list = targets(report);
    const met = (what: RegExp) => list.find((t) => what.test(t.what))?.met;
    expect(met(/weather: stack \/ direct/)).toBe(true);
    expect(met(/user: stack \/ direct/)).toBe(false);
    expect(met(/at 400 req\/s/)).toBe(false);
    expect(met(/during and after/)).toBe(false);
    const markdown = reportMarkdown({ ...report, targets: list });
    for (const heading of ['## Through the stack', '## Memory under load', '## Weather replicas', '## Targets']) expect(markdown).toContain(heading);
    expect(markdown).toContain('| 2 | 2 | 800.0 | 160% |');
  });

  it('renders the CPU table and judges the CPU ratios of issue 20 from it', () => {
    const list = targets(report);
    const target = (what: RegExp) => list.find((t) => what.test(t.what))!;
    // 2540 / 830 µs, 1290 / 640, 851 / 640, runner 114 and 9 µs
    expect(target(/cached weather \/ GET \/user/)).toMatchObject({ actual: '3.06× (2540 / 830 µs)', met: false });
    expect(target(/weather backend hop/)).toMatchObject({ actual: '2.02× (1290 / 640 µs)', met: false });
    expect(target(/weather-service hop/)).toMatchObject({ actual: '1.33× (851 / 640 µs)', met: false });
    expect(target(/runner/)).toMatchObject({ actual: 'weather-hit 114 µs, user-get 9 µs', met: false });
    const markdown = reportMarkdown({ ...report, targets: list });
    expect(markdown).toContain('## CPU per request (µs) by process');
    // backend sum, each instance per request it handled, weather, HAProxy, Postgres, stand-in, runner, total, load generator
    expect(markdown).toContain('| weather | stack | 600.0 | 6000 | 1290 | 1300 / 1280 | 851 | 283 | 2 | 0 | 114 | **2540** | 400 | 1.7 |');
    expect(markdown).toContain('| | direct | 1000.0 | 10000 | 300 | – | 200 | – | 1 | – | 30 | **531** | 400 | 1.0 |');
    // a run without a CPU reading (the fixed-rate run here) shows dashes, not zeros
    expect(markdown).toMatch(/\| weather at 400 req\/s offered \| stack \| 400\.0 \| 4000 \| – \|/);
    expect(markdown).toContain('cached weather / `GET /user/{id}`, every process: **3.06×** (target ≤ 1.8×)');
  });
});
