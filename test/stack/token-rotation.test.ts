// The weather service token rotates on a running stack without one failed request: a steady stream of weather
// lookups through HAProxy (two backends → the loopback balancer → two weather replicas) runs through the three
// rolling steps of docs/security.md ("Rotating the service token"): the replicas accept the next value too, the
// backends send it, the replicas accept only it. Every restart is one instance at a time (Stack.restart).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { uniqueCity } from '../support/weather';
import { registerThroughApi, startTestStack, type TestStack } from '../support/stack';
import { startTraffic, tally, type Sample, type TrafficRequest } from '../support/traffic';

jest.setTimeout(600_000);

/** Requests each phase must have served (every one 200): the stream ran through the restarts, not beside them. */
const MIN_PER_PHASE = 100;
/** ... and while each single restart was under way (from the stop of the old process to the new one in the pool). */
const MIN_PER_RESTART = 20;
const CLIENTS = 4;

let stack: TestStack;
const cities = [uniqueCity('Rotaville'), uniqueCity('Rotaville'), uniqueCity('Rotaville')];
let users: { authorization: string }[];

async function register(): Promise<{ authorization: string }> {
  return { authorization: `Bearer ${(await registerThroughApi(stack.urls.api, 'rot')).token}` };
}

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      WEATHER_REPLICAS: '2',
      BACKEND_REPLICAS: '2',
      // All the load comes from 127.0.0.1: the per-address edge limit and the per-user/per-address quotas raised.
      RATE_LIMIT_WEATHER_REQUESTS: '1000000',
      WEATHER_MISSES_PER_USER_PER_MINUTE: '1000',
      WEATHER_MISSES_PER_ADDRESS_PER_MINUTE: '1000',
    },
  });
  users = [await register(), await register(), await register()];
  // Each city asked once before the stream: the stream is cache hits, so the provider budget plays no part.
  for (const city of cities) {
    const first = await fetch(`${stack.urls.api}/weather/${encodeURIComponent(city)}`, { headers: users[0] });
    expect([first.status, await first.text()]).toEqual([200, expect.stringContaining('"city"')]);
  }
});

afterAll(async () => {
  await stack?.stop();
});

interface Window {
  label: string;
  from: number;
  to: number;
}

type Instance = 'app-backend-1' | 'app-backend-2' | 'weather-service-1' | 'weather-service-2';

/** Restarts each instance in turn with `env`, recording the span of each restart. */
async function rollingRestart(phase: string, names: Instance[], env: Record<string, string | undefined>) {
  const spans: Window[] = [];
  for (const name of names) {
    const from = performance.now();
    const before = stack.pids[name];
    const pid = await stack.restart(name, env);
    expect(pid).not.toBe(before);
    spans.push({ label: `${name} (phase ${phase})`, from, to: performance.now() });
  }
  return spans;
}

const within = (samples: Sample[], w: Window) => samples.filter((s) => s.sentAt >= w.from && s.sentAt < w.to);

/** A weather instance asked directly (with this start's edge proof, as HAProxy would send it) with a service token. */
async function askInstance(url: string, token: string) {
  const answer = await fetch(`${url}/weather/${encodeURIComponent(cities[0])}`, {
    headers: { 'x-edge-proof': stack.edgeProof, 'x-service-token': token, 'x-forwarded-for': '127.0.0.1' },
  });
  return { status: answer.status, contentType: answer.headers.get('content-type'), body: await answer.text() };
}

test('the service token rotates through rolling restarts while weather requests keep being answered 200', async () => {
  const oldToken = readFileSync(join(stack.stateDir, 'weather-service-token'), 'utf8').trim();
  const newToken = randomBytes(32).toString('base64url');
  const requests: TrafficRequest[] = users.flatMap((headers) =>
    cities.map((city) => ({ name: 'weather', path: `/weather/${encodeURIComponent(city)}`, init: { headers } })),
  );
  const traffic = startTraffic(stack.urls.api, () => requests, CLIENTS);
  const phases: Window[] = [];
  const restarts: Window[] = [];
  const phase = async (label: string, names: Instance[], env: Record<string, string | undefined>) => {
    const from = performance.now();
    restarts.push(...(await rollingRestart(label.slice(0, 1), names, env)));
    phases.push({ label, from, to: performance.now() });
  };
  try {
    await phase('1: the replicas accept the next token too', ['weather-service-1', 'weather-service-2'], { WEATHER_SERVICE_TOKEN_NEXT: newToken });
    for (const url of stack.urls.weatherInstances) {
      expect([(await askInstance(url, oldToken)).status, (await askInstance(url, newToken)).status]).toEqual([200, 200]);
    }
    await phase('2: the backends send it', ['app-backend-1', 'app-backend-2'], { WEATHER_SERVICE_TOKEN: newToken });
    await phase('3: the replicas accept only it', ['weather-service-1', 'weather-service-2'], {
      WEATHER_SERVICE_TOKEN: newToken,
      WEATHER_SERVICE_TOKEN_NEXT: undefined,
    });
  } finally {
    await traffic.stop();
  }
  const samples = traffic.samples;
  const during = (s: Sample) => {
    const restart = restarts.find((w) => s.sentAt >= w.from && s.sentAt < w.to);
    return restart ? `while restarting ${restart.label}` : 'between restarts';
  };
  const failed = samples.filter((s) => s.status !== 200).map((s) => `${s.status || s.error} ${during(s)}: ${s.body.slice(0, 200)}`);
  expect(failed).toEqual([]);
  expect(tally(samples)).toEqual({ 'weather 200': samples.length });
  for (const w of phases) expect([w.label, within(samples, w).length >= MIN_PER_PHASE]).toEqual([w.label, true]);
  for (const w of restarts) expect([w.label, within(samples, w).length >= MIN_PER_RESTART]).toEqual([w.label, true]);

  // The end state: each replica refuses the old token and accepts the new one.
  for (const url of stack.urls.weatherInstances) {
    const refused = await askInstance(url, oldToken);
    expect([refused.status, refused.contentType]).toEqual([401, expect.stringMatching(/^application\/problem\+json/)]);
    expect(refused.body).not.toContain(oldToken);
    const accepted = await askInstance(url, newToken);
    expect([accepted.status, JSON.parse(accepted.body).cached]).toEqual([200, true]);
  }
});
