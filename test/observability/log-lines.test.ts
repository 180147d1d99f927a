// The pipeline against real lines: the functions are invoked (register, token ok/failed, weather against
// the OpenWeatherMap stand-in), HAProxy runs the project's haproxy.cfg, and what they write is what the
// shippers, the dashboard queries, the terminal aggregation and `npm run dashboard` are checked against.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { handler as registerHandler } from '../../functions/auth/register';
import { handler as tokenHandler } from '../../functions/auth/token';
import { cityKey } from '../../layers/city-names';
import { handler as weatherHandler } from '../../functions/weather/get';
import { ACCESS_LOG, EVENTS, LOG_LABELS } from '../../layers/events';
import { summarize, type Summary } from '../../local/observability/aggregate';
import { buildDashboard, dashboardQueries } from '../../local/observability/grafana-dashboard';
import { LogDirectory } from '../../local/observability/log-reader';
import { ROOT, TSX } from '../support/child';
import { haproxyAccessLog } from '../support/haproxy-access-log';
import { captureLogs, invoke } from '../support/lambda';
import { alloyPipeline, promtailPipeline, ship } from '../support/log-shippers';
import { analyze, interpolate, selects } from '../support/logql';
import { uniqueName } from '../support/users';
import { serviceCredential, standInForThisFile } from '../support/weather';

// What serverless-offline prints around each request: not events, and not shipped.
const OFFLINE_NOISE = [
  'Server ready: http://127.0.0.1:3001 🚀',
  '',
  '\u001b[32mPOST /token (λ: token)\u001b[39m',
  '(λ: token) RequestId: 9c3c0a2e-55b4-4bd3-a5f3-1c5e2a5f1f7e  Duration: 41.27 ms  Billed Duration: 42 ms',
];

const letters = (n: number) => [...randomBytes(n)].map((b) => String.fromCharCode(97 + (b % 26))).join('');

// The run: who did what, so the counts can be predicted.
const alice = uniqueName('alice');
const bob = uniqueName('bob');
const ghost = uniqueName('ghost');
const password = `pw-${randomBytes(8).toString('hex')}`;
const sunny = `Obsville ${letters(8)}`; // asked 3 times: 1 miss + upstream call, then 2 cache hits
const rainy = `Logtown ${letters(8)}`; // asked once
const broken = `Failford ${letters(8)}`; // asked while the provider answers 500: 503, an upstream call and a WARN line
const accessRequests = [
  ...Array.from({ length: 3 }, () => ({ method: 'GET', path: '/users' })),
  { method: 'GET', path: '/status/404' },
  { method: 'GET', path: '/status/404' },
  { method: 'POST', path: '/status/401' },
  { method: 'GET', path: '/status/500' },
  { method: 'GET', path: '/status/503' },
];

let startedAt: number;
let appLines: string[] = [];
let weatherLines: string[] = [];
/** the part of the lines above written on stderr (Powertools' WARN and ERROR) */
const stderrLines: string[] = [];
let accessLines: string[] = [];
let accessStatuses: number[] = [];
let logs: string;

/** Captures stderr too: Powertools writes WARN and ERROR lines there. */
function captureStderr() {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation(((chunk: string | Uint8Array) => {
    lines.push(
      ...chunk
        .toString()
        .split('\n')
        .filter((l) => l.startsWith('{')),
    );
    return true;
  }) as typeof process.stderr.write);
  return { lines, restore: () => spy.mockRestore() };
}

/** The weather service runs in its own process; here it shares a jest worker, so its logger is swapped in. */
const LOGGER = Symbol.for('platform.logger');
function asService<T>(name: string, run: () => Promise<T>): Promise<T> {
  const previous = process.env.POWERTOOLS_SERVICE_NAME;
  delete (globalThis as Record<symbol, unknown>)[LOGGER];
  process.env.POWERTOOLS_SERVICE_NAME = name;
  return run().finally(() => {
    delete (globalThis as Record<symbol, unknown>)[LOGGER];
    process.env.POWERTOOLS_SERVICE_NAME = previous;
  });
}

const jsonLines = (text: string[]) => text.flatMap((t) => t.split('\n')).filter((l) => l.startsWith('{'));

beforeAll(async () => {
  startedAt = Date.now();
  const env = { OPENWEATHER_API_KEY: process.env.OPENWEATHER_API_KEY, OPENWEATHER_BASE_URL: process.env.OPENWEATHER_BASE_URL };
  // The configuration is read once per test file, at the first call: the provider's address goes in first.
  const standIn = await standInForThisFile();
  const stdout = captureLogs();
  const stderr = captureStderr();
  try {
    const token = (username: string, pw: string) => invoke(tokenHandler, { method: 'POST', path: '/token', form: { username, password: pw } });
    for (const username of [alice, bob]) {
      expect((await invoke(registerHandler, { method: 'POST', path: '/register', body: { username, password } })).status).toBe(201);
    }
    for (const [username, pw, status] of [
      [alice, password, 200],
      [alice, password, 200],
      [bob, password, 200],
      [alice, 'wrong-password', 401],
      [ghost, password, 401],
      [ghost, 'another-guess', 401],
    ] as const) {
      expect((await token(username, pw)).status).toBe(status);
    }
    appLines = jsonLines([...stdout.raw, ...stderr.lines]);
    stderrLines.push(...stderr.lines);
    stdout.raw.length = 0;
    stderr.lines.length = 0;

    await asService('weather-service', async () => {
      const weather = (city: string) =>
        invoke(weatherHandler, { method: 'GET', path: `/weather/${encodeURIComponent(city)}`, pathParameters: { city }, headers: serviceCredential() });
      for (const status of [200, 200, 200]) expect((await weather(sunny)).status).toBe(status);
      expect((await weather(rainy)).status).toBe(200);
      standIn.setMode({ status: 500 });
      expect((await weather(broken)).status).toBe(503);
    });
    weatherLines = jsonLines([...stdout.raw, ...stderr.lines]);
    stderrLines.push(...stderr.lines);
  } finally {
    stdout.restore();
    stderr.restore();
    await standIn.stop();
    Object.assign(process.env, env);
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  }

  const access = await haproxyAccessLog(accessRequests);
  accessLines = access.lines;
  accessStatuses = access.statuses;

  // The files the local runner writes (local/processes.ts): stdout to <name>.log, stderr to <name>.stderr.log,
  // serverless-offline's own lines included.
  logs = mkdtempSync(join(tmpdir(), 'obs-logs-'));
  const file = (name: string, lines: string[]) => writeFileSync(join(logs, name), [...lines, ''].join('\n'));
  const stdoutOnly = (lines: string[]) => lines.filter((l) => !stderrLines.includes(l));
  const stderrOnly = (lines: string[]) => lines.filter((l) => stderrLines.includes(l));
  file('app-backend-1.log', stdoutOnly(appLines));
  file('app-backend-1.stderr.log', [...OFFLINE_NOISE, ...stderrOnly(appLines)]);
  file('weather-service.log', stdoutOnly(weatherLines));
  file('weather-service.stderr.log', [...OFFLINE_NOISE, ...stderrOnly(weatherLines)]);
  file('haproxy.log', accessLines);
}, 60_000);

afterAll(() => {
  if (logs) rmSync(logs, { recursive: true, force: true });
});

const everyLine = () => [...appLines, ...weatherLines, ...accessLines];

test('the functions and HAProxy write the lines the dashboard is built on', () => {
  const events = (lines: string[], name: string) => lines.map((l) => JSON.parse(l)).filter((l) => l.event === name);
  expect(events(appLines, EVENTS.loginSucceeded.name)).toHaveLength(3);
  expect(events(appLines, EVENTS.loginFailed.name)).toHaveLength(3);
  expect(events(weatherLines, EVENTS.cacheHit.name)).toHaveLength(2);
  expect(events(weatherLines, EVENTS.externalRequest.name)).toHaveLength(3);
  for (const line of appLines.map((l) => JSON.parse(l))) expect(line.service).toBe('app-backend');
  for (const line of weatherLines.map((l) => JSON.parse(l))) expect(line.service).toBe('weather-service');
  for (const line of accessLines.map((l) => JSON.parse(l))) expect(Object.keys(line)).toEqual([...ACCESS_LOG.fields]);
  expect(accessStatuses.slice(-accessRequests.length)).toEqual([200, 200, 200, 404, 404, 401, 500, 503]);
  // Every event line carries the fields layers/events.ts promises.
  for (const event of Object.values(EVENTS)) {
    for (const line of events(everyLine(), event.name)) {
      for (const field of ['level', 'message', 'timestamp', 'service', 'request_id', ...event.fields]) expect(line).toHaveProperty(field);
    }
  }
});

test('no line carries a password or a token', () => {
  const text = everyLine().join('\n');
  expect(text).not.toContain(password);
  expect(text).not.toContain('wrong-password');
  expect(text).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
});

test('Promtail and Alloy label every real line alike, with service, level and event only', () => {
  const promtail = promtailPipeline();
  const alloy = alloyPipeline();
  for (const line of everyLine()) {
    const json = JSON.parse(line);
    const shipped = ship(promtail, line);
    expect(ship(alloy, line)).toEqual(shipped);
    expect(Object.keys(shipped!.labels).every((l) => (LOG_LABELS as readonly string[]).includes(l))).toBe(true);
    expect(shipped!.labels).toEqual(JSON.parse(JSON.stringify({ service: json.service, level: json.level, event: json.event })));
    expect(shipped!.timestamp).toBe(Date.parse(json.timestamp));
  }
  for (const noise of OFFLINE_NOISE) expect(ship(promtail, noise)).toBeUndefined();
});

test('every dashboard query finds real lines, and every field it reads is in each of them', () => {
  const promtail = promtailPipeline();
  const shipped = everyLine().map((line) => ({ ...ship(promtail, line)!, json: JSON.parse(line) as Record<string, unknown> }));
  for (const { panel, expr } of dashboardQueries(buildDashboard())) {
    const shape = analyze(interpolate(expr));
    const picked = shipped.filter((s) => selects(shape.selector, s.labels));
    expect({ panel, expr, lines: picked.length > 0 }).toEqual({ panel, expr, lines: true });
    const fields = [...shape.fields, ...shape.groupBy.filter((g) => !(LOG_LABELS as readonly string[]).includes(g))];
    if (fields.length) expect({ panel, json: shape.json }).toEqual({ panel, json: true });
    for (const s of picked) {
      const missing = fields.filter((f) => s.json[f] === undefined || s.json[f] === null);
      expect({ panel, line: s.line, missing }).toEqual({ panel, line: s.line, missing: [] });
    }
  }
});

function expectRunCounts(summary: Summary) {
  expect(summary.cacheHitsByCity).toEqual([{ key: cityKey(sunny), count: 2 }]);
  expect(summary.externalRequestsByCity).toEqual([cityKey(broken), cityKey(rainy), cityKey(sunny)].sort().map((key) => ({ key, count: 1 })));
  expect(summary.loginsByUsername).toEqual([
    { key: alice, count: 2 },
    { key: bob, count: 1 },
  ]);
  // A name without an account is logged as "unknown" (it may be a password typed into the wrong field).
  expect(summary.failedLoginsByUsername).toEqual([
    { key: 'unknown', count: 2 },
    { key: alice, count: 1 },
  ]);
  expect(summary.totals).toMatchObject({ cacheHits: 2, cacheMisses: 3, externalRequests: 3, logins: 3, failedLogins: 3, registrations: 2 });
  expect(summary.totals.warningsAndErrors).toBeGreaterThan(0);
  expect(summary.http.requests).toBe(accessStatuses.length);
  expect(summary.http.client4xx).toBe(accessStatuses.filter((s) => s >= 400 && s < 500).length);
  expect(summary.http.server5xx).toBe(accessStatuses.filter((s) => s >= 500).length);
}

describe('the terminal dashboard', () => {
  const window = () => ({ from: startedAt - 60_000, to: Date.now() + 60_000 });

  test('counts per city and username what was done, read from the log files', async () => {
    const directory = new LogDirectory(logs);
    const poll = await directory.poll();
    expect(stderrLines.length).toBeGreaterThan(0);
    expect(poll).toEqual({ files: 5, added: everyLine().length, dropped: OFFLINE_NOISE.length * 2 });
    expectRunCounts(summarize(directory.records(), window()));
  });

  test('the service filter narrows the event panels but not the ingress', async () => {
    const directory = new LogDirectory(logs);
    await directory.poll();
    const summary = summarize(directory.records(), window(), { services: ['app-backend'] });
    expect(summary.cacheHitsByCity).toEqual([]);
    expect(summary.externalRequestsByCity).toEqual([]);
    expect(summary.loginsByUsername).toHaveLength(2);
    expect(summary.http.requests).toBe(accessStatuses.length);
  });

  test('lines outside the range do not count', async () => {
    const directory = new LogDirectory(logs);
    await directory.poll();
    const summary = summarize(directory.records(), { from: startedAt - 3_600_000, to: startedAt - 1 });
    expect(summary.totals.lines).toBe(0);
    expect(summary.http.requests).toBe(0);
  });

  test('a poll reads only what was appended, and starts over when a file is truncated', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'obs-follow-'));
    try {
      const file = join(dir, 'app-backend-2.log');
      const [first, second, third] = appLines.filter((l) => JSON.parse(l).event === EVENTS.loginSucceeded.name);
      writeFileSync(file, `${first}\n${second.slice(0, 20)}`); // a line still being written
      const directory = new LogDirectory(dir);
      expect(await directory.poll()).toEqual({ files: 1, added: 1, dropped: 0 });
      appendFileSync(file, `${second.slice(20)}\nnot json\n`);
      expect(await directory.poll()).toEqual({ files: 1, added: 1, dropped: 1 });
      expect(await directory.poll()).toEqual({ files: 1, added: 0, dropped: 0 });
      truncateSync(file, 0);
      appendFileSync(file, `${third}\n`);
      expect(await directory.poll()).toEqual({ files: 1, added: 1, dropped: 0 });
      expect([...directory.records()]).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('npm run dashboard prints the four panels with the counts of the run', async () => {
    const run = spawn(TSX, [join(ROOT, 'local', 'bin', 'dashboard.ts'), '--logs', logs, '--since', '1h'], { cwd: ROOT });
    let out = '';
    run.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const [code] = await once(run, 'exit');
    expect(code).toBe(0);
    expect(out).toContain('Weather cache hits by city  (2)');
    expect(out).toMatch(new RegExp(`${cityKey(sunny)} █+ 2\\n`));
    expect(out).toContain('External API requests by city  (3)');
    expect(out).toContain('User logins by username  (3)');
    expect(out).toMatch(new RegExp(`${alice} █+ 2\\n`));
    expect(out).toContain('Failed login attempts by username  (3)');
    expect(out).toMatch(/unknown +█+ 2\n/);
    expect(out).not.toContain(ghost);
    expect(out).toContain(`requests ${accessStatuses.length} `);
    const count = (test: (s: number) => boolean) => accessStatuses.filter(test).length;
    expect(out).toContain(`4xx ${count((s) => s >= 400 && s < 500)}   5xx ${count((s) => s >= 500)}`);
  });

  test('npm run dashboard refuses a malformed --since with the usage', async () => {
    const run = spawn(TSX, [join(ROOT, 'local', 'bin', 'dashboard.ts'), '--logs', logs, '--since', 'yesterday'], { cwd: ROOT });
    let err = '';
    run.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const [code] = await once(run, 'exit');
    expect(code).toBe(2);
    expect(err).toContain('--since');
    expect(err).toContain('Usage: npm run dashboard');
  });

  test('npm run dashboard --watch redraws until Ctrl-C, then exits cleanly', async () => {
    const run = spawn(TSX, [join(ROOT, 'local', 'bin', 'dashboard.ts'), '--logs', logs, '--watch', '--interval', '1s'], { cwd: ROOT });
    const lines = createInterface({ input: run.stdout });
    let frames = 0;
    for await (const line of lines) {
      if (line.startsWith('Weather & users platform')) frames += 1;
      if (frames === 2) break; // a second frame: it redraws
    }
    const exited = once(run, 'exit');
    run.kill('SIGINT');
    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });
});
