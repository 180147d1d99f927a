// HAProxy keeps the API answering while backend instances misbehave, and the stack stops without leftovers.
// This stack runs its own embedded Postgres (in a throw-away state dir), as `npm start` does.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, leftovers } from '../../local/stack';
import { serverState } from '../support/haproxy-metrics';
import { eventually, startTestStack, type TestStack } from '../support/stack';

jest.setTimeout(300_000);

let stack: TestStack;
let token: string;
let userId: string;

beforeAll(async () => {
  // The bursts come from one address: the per-address /weather limit (edge rules) is lifted for them.
  stack = await startTestStack({ embeddedPostgres: true, env: { WEATHER_REPLICAS: '2', RATE_LIMIT_WEATHER_REQUESTS: '1000000' } });
  const username = `res_${randomBytes(5).toString('hex')}`;
  const password = 'long-enough-pw';
  const created = await fetch(`${stack.urls.api}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  userId = ((await created.json()) as { id: string }).id;
  const issued = await fetch(`${stack.urls.api}/token`, { method: 'POST', body: new URLSearchParams({ username, password }) });
  token = ((await issued.json()) as { access_token: string }).access_token;
});

afterAll(async () => {
  await stack?.stop();
});

/** Sends `total` GET requests (default /user/{id}), `concurrency` at a time; `onProgress` sees the completed count. */
async function burst(total: number, concurrency: number, onProgress: (done: number) => void = () => undefined, path = `/user/${userId}`) {
  let sent = 0;
  let done = 0;
  const failures: string[] = [];
  const worker = async () => {
    while (sent < total) {
      sent++;
      try {
        const answer = await fetch(`${stack.urls.api}${path}`, { headers: { authorization: `Bearer ${token}` } });
        await answer.arrayBuffer();
        if (answer.status !== 200) failures.push(`status ${answer.status}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
      onProgress(++done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { sent, failures };
}

function isListening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolveListening) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolveListening(true);
    });
    socket.once('error', () => resolveListening(false));
  });
}

test('haproxy.cfg is valid for the installed HAProxy with its defaults', async () => {
  const { stderr } = await promisify(execFile)('haproxy', ['-c', '-f', join(ROOT, 'haproxy.cfg')]);
  expect(stderr).not.toMatch(/ALERT|WARNING/);
});

test('an instance whose health check fails leaves the pool, and comes back once it answers again', async () => {
  const pid = stack.pids['app-backend-1']!;
  expect(await serverState(stack.urls.metrics, stack.statsLogin, 'app-backend-1')).toBe('UP');
  process.kill(-pid, 'SIGSTOP'); // frozen: connections are accepted, nothing answers, the check times out
  try {
    await eventually('app-backend-1 to be DOWN', async () =>
      (await serverState(stack.urls.metrics, stack.statsLogin, 'app-backend-1')) === 'DOWN' ? true : undefined,
    );
    const { failures } = await burst(40, 4);
    expect(failures).toEqual([]);
  } finally {
    process.kill(-pid, 'SIGCONT');
  }
  await eventually('app-backend-1 to be UP again', async () =>
    (await serverState(stack.urls.metrics, stack.statsLogin, 'app-backend-1')) === 'UP' ? true : undefined,
  );
});

test('killing one instance by its pid during a burst of requests fails no client request', async () => {
  const victim = stack.pids['app-backend-2']!;
  let killed = false;
  const { sent, failures } = await burst(600, 16, (done) => {
    if (!killed && done >= 150) {
      killed = true;
      process.kill(victim, 'SIGKILL');
    }
  });
  expect(killed).toBe(true);
  expect(sent).toBe(600);
  expect(failures).toEqual([]);
  await eventually('app-backend-2 to be DOWN', async () =>
    (await serverState(stack.urls.metrics, stack.statsLogin, 'app-backend-2')) === 'DOWN' ? true : undefined,
  );
  // The killed instance had served part of the burst before it died.
  const servedBy = new Set(
    stack
      .logLines('haproxy')
      .filter((l) => l.path === `/user/${userId}`)
      .map((l) => l.server),
  );
  expect(servedBy).toEqual(new Set(['app-backend-1', 'app-backend-2']));
});

test('killing one weather replica during a burst of /weather requests fails no client request; restarted, it rejoins', async () => {
  expect((await fetch(`${stack.urls.api}/weather/London`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  const victim = stack.pids['weather-service-1']!;
  let killed = false;
  const { sent, failures } = await burst(
    300,
    8,
    (done) => {
      if (!killed && done >= 75) {
        killed = true;
        process.kill(victim, 'SIGKILL');
      }
    },
    '/weather/London',
  );
  expect(killed).toBe(true);
  expect(sent).toBe(300);
  expect(failures).toEqual([]);
  await eventually('weather-service-1 to be DOWN', async () =>
    (await serverState(stack.urls.metrics, stack.statsLogin, 'weather-service-1')) === 'DOWN' ? true : undefined,
  );

  const pid = await stack.restart('weather-service-1');
  expect(pid).not.toBe(victim);
  await eventually('weather-service-1 to be UP again', async () =>
    (await serverState(stack.urls.metrics, stack.statsLogin, 'weather-service-1')) === 'UP' ? true : undefined,
  );
  const after = await burst(20, 2, undefined, '/weather/London');
  expect(after.failures).toEqual([]);
});

test('stop() ends every process the stack started and frees every port', async () => {
  const urls = [
    stack.urls.api,
    stack.urls.stats,
    stack.urls.weather,
    ...stack.urls.weatherInstances,
    ...stack.urls.backends,
    stack.urls.standIn!,
    `http://${stack.urls.postgres}`,
  ];
  expect(Object.keys(stack.pids).sort()).toEqual([
    'app-backend-1',
    'app-backend-2',
    'haproxy',
    'owm-standin',
    'postgres',
    'weather-service-1',
    'weather-service-2',
  ]);
  expect(await isListening(stack.urls.api)).toBe(true);
  await stack.stop();
  expect(leftovers(stack.pids)).toEqual([]);
  for (const url of urls) expect(await isListening(url)).toBe(false);
});
