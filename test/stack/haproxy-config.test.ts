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
