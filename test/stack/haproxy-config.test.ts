// The HAProxy configuration a stack runs: haproxy.cfg with one server line per replica, still valid for HAProxy.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { withReplicaServers, writeHaproxyConfig } from '../../local/services/haproxy';
import { parseStatsCsv, serverRows } from '../../local/services/haproxy-stats';
import { ROOT } from '../../local/stack';

const servers = (prefix: string, count: number, firstPort: number) =>
  Array.from({ length: count }, (_, i) => ({ name: `${prefix}-${i + 1}`, address: `127.0.0.1:${firstPort + i}` }));

test('three backend and one weather replica: each backend gets exactly its server lines, everything else is unchanged, and HAProxy accepts it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'haproxy-config-'));
  try {
    const file = writeHaproxyConfig(join(ROOT, 'haproxy.cfg'), join(dir, 'haproxy.cfg'), {
      app_backend: servers('app-backend', 3, 41_001),
      weather_service: servers('weather-service', 1, 42_001),
    });
    const text = readFileSync(file, 'utf8');
    expect(text.match(/^\s+server .*$/gm)!.map((line) => line.trim())).toEqual([
      'server app-backend-1 127.0.0.1:41001',
      'server app-backend-2 127.0.0.1:41002',
      'server app-backend-3 127.0.0.1:41003',
      'server weather-service-1 127.0.0.1:42001',
    ]);
    const withoutServers = (config: string) => config.split('\n').filter((line) => !/^\s+server |^# Generated/.test(line));
    expect(withoutServers(text)).toEqual(withoutServers(readFileSync(join(ROOT, 'haproxy.cfg'), 'utf8')));
    const { stderr } = await promisify(execFile)('haproxy', ['-c', '-f', file]);
    expect(stderr).not.toMatch(/ALERT|WARNING/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a backend the configuration does not have is an error, not a silently unbalanced stack', () => {
  expect(() => withReplicaServers('backend app_backend\n    server a 127.0.0.1:1\n', { weather_service: servers('w', 1, 1) })).toThrow(
    /no server lines in backend weather_service/,
  );
});

test('the stats CSV is read by column name, server rows only', () => {
  const csv = '# pxname,svname,qcur,status\napi,FRONTEND,,OPEN\napp_backend,app-backend-1,0,UP\napp_backend,app-backend-2,0,DOWN\napp_backend,BACKEND,0,UP\n';
  expect(serverRows(parseStatsCsv(csv), 'app_backend').map((row) => [row.svname, row.status])).toEqual([
    ['app-backend-1', 'UP'],
    ['app-backend-2', 'DOWN'],
  ]);
});

describe('connections the edge can reuse safely', () => {
  /** The `default-server` line of a backend section of haproxy.cfg. */
  const defaultServer = (backend: string) => {
    const section =
      readFileSync(join(ROOT, 'haproxy.cfg'), 'utf8')
        .split(/^backend /m)
        .find((s) => s.startsWith(`${backend}\n`)) ?? '';
    return /^\s+default-server (.*)$/m.exec(section)?.[1] ?? '';
  };
  const seconds = (value: string) => Number(/^(\d+)s$/.exec(value)?.[1] ?? NaN);

  test.each(['app_backend', 'weather_service'])(
    'HAProxy purges its idle connections to %s long before an instance would close one (it must never close first)',
    (backend) => {
      const line = defaultServer(backend);
      const purge = seconds(/pool-purge-delay (\S+)/.exec(line)?.[1] ?? '');
      const maxconn = Number(/maxconn (\d+)/.exec(line)?.[1]);
      expect(purge).toBeGreaterThan(0);
      expect(maxconn).toBeGreaterThan(0);
      // Each purge closes half of the idle connections beyond HAProxy's estimated need, and that estimate halves too once
      // traffic stops: after log2(maxconn) + 2 purges none is left idle.
      const longestIdleMs = purge * 1000 * (Math.ceil(Math.log2(maxconn)) + 2);
      const { KEEP_ALIVE_MS } = require('../../local/services/keep-alive.cjs') as { KEEP_ALIVE_MS: number };
      expect(KEEP_ALIVE_MS).toBeGreaterThan(2 * longestIdleMs);
    },
  );

  test("the instances' hook gives every HTTP server they open that keep-alive (Node's own default is 5 s)", async () => {
    const probe = "const s = require('node:http').createServer().listen(0, '127.0.0.1', () => { console.log(s.keepAliveTimeout); s.close(); })";
    const run = (args: string[]) => promisify(execFile)(process.execPath, [...args, '-e', probe]).then(({ stdout }) => Number(stdout.trim()));
    expect(await run([])).toBe(5000);
    expect(await run(['--require', join(ROOT, 'local', 'services', 'keep-alive.cjs')])).toBe(300_000);
  });
});

test("the backend's outbound connections close when idle before HAProxy's weather frontend would close them", () => {
  const { IDLE_SOCKET_MS } = require('../../layers/http/client') as { IDLE_SOCKET_MS: number };
  const config = readFileSync(join(ROOT, 'haproxy.cfg'), 'utf8');
  const weatherFrontend = config.split(/^frontend /m).find((s) => s.startsWith('weather\n')) ?? '';
  const keepAlive = /timeout http-keep-alive (\d+)s/.exec(weatherFrontend) ?? /timeout http-keep-alive (\d+)s/.exec(config.split(/^defaults/m)[1] ?? '');
  expect(Number(keepAlive?.[1]) * 1000).toBeGreaterThan(IDLE_SOCKET_MS);
  expect(IDLE_SOCKET_MS).toBeLessThan(5000); // Node's own server default, the stand-in's
});
