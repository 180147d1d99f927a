// Smoke checks of the bench's parts without a stack (nothing here is timed): options, the stats parser, the load
// generator against a real local server, the runtime-cost probe, the cold-start floor measured the as-deployed way, and the
// report with its targets. `npm run bench -- --quick` is the smoke run of the whole bench against a stack.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseOptions, SCENARIO_IDS } from '../../bench/options';
import { reportMarkdown } from '../../bench/report';
import { runLoad } from '../../bench/requests';
import type { BenchReport } from '../../bench/results';
import { measureFloor } from '../../bench/scenarios/cold-starts';
import { targets } from '../../bench/targets';
import { parseStatsCsv, serverRows } from '../../local/haproxy-stats';

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
      { id: 'weather-hit', title: 'weather', stack: load(600, 70), direct: load(1000, 10) },
      { id: 'user-get', title: 'user', stack: load(300, 90), direct: load(1000, 10) },
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
});
