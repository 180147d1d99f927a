// Promtail, its successor Alloy, Loki and the compose file, checked without a container engine: both
// shippers' configs are read into one shape and must agree with each other and with layers/events.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { LOG_LABELS } from '../../layers/events';
import { rotatedName } from '../../local/log-files';
import { alloyPipeline, OBSERVABILITY, parseAlloy, promtailPipeline, ship, type Pipeline } from '../support/log-shippers';

const yaml = (file: string) => parseYaml(readFileSync(join(OBSERVABILITY, file), 'utf8'));
const compose = yaml('compose.yml');
const shippers: Array<[string, () => Pipeline]> = [
  ['promtail', () => promtailPipeline()],
  ['alloy', () => alloyPipeline()],
];

describe.each(shippers)('%s', (name, read) => {
  const pipeline = read();

  test('labels exactly service, level and event, taken from the JSON line', () => {
    expect(Object.keys(pipeline.labels).sort()).toEqual([...LOG_LABELS].sort());
    for (const [label, source] of Object.entries(pipeline.labels)) {
      expect(source).toBe(label);
      expect(pipeline.json[source]).toBe(label);
    }
    expect(pipeline.labelDrop).toContain('filename');
  });

  test("uses the line's own RFC3339 timestamp", () => {
    expect(pipeline.json[pipeline.timestamp.source]).toBe('timestamp');
    expect(pipeline.timestamp.format).toMatch(/^RFC3339(Nano)?$/);
    const shipped = ship(pipeline, '{"timestamp":"2026-01-02T03:04:05.678Z","service":"app-backend","level":"INFO"}');
    expect(shipped?.timestamp).toBe(Date.parse('2026-01-02T03:04:05.678Z'));
  });

  test('drops plain-text and blank lines, keeps JSON objects', () => {
    const dropped = [
      'Server ready: http://127.0.0.1:3001 🚀',
      '\u001b[32m✔\u001b[39m offline: GET /users (λ: list)',
      '(λ: register) RequestId: 1 Duration: 12.3 ms',
      '',
      '   ',
      'null',
    ];
    for (const line of dropped) expect({ line, shipped: ship(pipeline, line) }).toEqual({ line, shipped: undefined });
    expect(ship(pipeline, '  {"service":"haproxy","timestamp":"2026-01-02T03:04:05Z"}')?.labels).toEqual({ service: 'haproxy' });
  });

  test('a JSON line without a service still gets a label (Loki refuses streams without one)', () => {
    expect(ship(pipeline, '{"timestamp":"2026-01-02T03:04:05Z","level":"INFO"}')?.labels).toEqual({ service: 'unknown', level: 'INFO' });
  });

  test('reads each rotated file once: its glob matches the current files, never the rotated ones', () => {
    // Both shippers key read positions by path and follow a renamed file by its open handle: a glob that also
    // matched <name>.log.1 would read the renamed file again from the start under its new path.
    const glob = new RegExp(
      `^${pipeline.path
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*')}$`,
    );
    const current = ['/var/log/platform/haproxy.log', '/var/log/platform/app-backend-1.log', '/var/log/platform/app-backend-1.stderr.log'];
    for (const path of current) expect({ path, read: glob.test(path) }).toEqual({ path, read: true });
    for (const path of current.flatMap((p) => [rotatedName(p, 1), rotatedName(p, 3)])) expect({ path, read: glob.test(path) }).toEqual({ path, read: false });
  });

  test('tails the mounted local/logs and pushes to the compose Loki', () => {
    expect(pipeline.path).toBe('/var/log/platform/*.log');
    expect(pipeline.pushUrl).toBe('http://loki:3100/loki/api/v1/push');
    expect(compose.services[name].volumes).toContain('../logs:/var/log/platform:ro');
  });
});

test('Promtail and Alloy run the same pipeline', () => {
  expect(alloyPipeline()).toEqual(promtailPipeline());
});

test('the Alloy reader refuses what it cannot read (so the checks above can fail)', () => {
  expect(() => parseAlloy('loki.process "x" { stage.json { expressions = { a = "a" } }')).toThrow(/end of the configuration/);
  expect(() => parseAlloy('loki.write "x" { url = ; }')).toThrow(/unexpected/);
  expect(parseAlloy('a "b" { c = [1, "two", d.e.f] // note\n g { h = { "i" = true } } }')).toEqual([
    {
      name: 'a',
      label: 'b',
      attributes: { c: [1, 'two', { ref: 'd.e.f' }] },
      blocks: [{ name: 'g', label: undefined, attributes: { h: { i: true } }, blocks: [] }],
    },
  ]);
});

test('Loki keeps one local node with 7 days of retention enforced by the compactor', () => {
  const loki = yaml('loki.yaml');
  expect(loki.auth_enabled).toBe(false);
  expect(loki.common.replication_factor).toBe(1);
  expect(loki.common.ring.kvstore.store).toBe('inmemory');
  expect(loki.limits_config.retention_period).toBe('168h');
  expect(loki.compactor).toMatchObject({ retention_enabled: true, delete_request_store: 'filesystem' });
  expect(loki.schema_config.configs).toEqual([expect.objectContaining({ store: 'tsdb', schema: 'v13', object_store: 'filesystem' })]);
  expect(compose.services.loki.command.join(' ')).toContain('/etc/loki/loki.yaml');
  expect(compose.services.loki.volumes).toContain('./loki.yaml:/etc/loki/loki.yaml:ro');
});

test('compose pins every image and picks the shipper by profile, Promtail by default', () => {
  for (const [service, spec] of Object.entries<any>(compose.services)) {
    expect({ service, image: spec.image }).toEqual({ service, image: expect.stringMatching(/^grafana\/[a-z]+:v?\d+\.\d+\.\d+$/) });
  }
  expect(compose.services.promtail.profiles).toEqual(['promtail']);
  expect(compose.services.alloy.profiles).toEqual(['alloy']);
  for (const always of ['loki', 'grafana']) expect(compose.services[always].profiles).toBeUndefined();
  expect(readFileSync(join(OBSERVABILITY, '.env'), 'utf8')).toMatch(/^COMPOSE_PROFILES=promtail$/m);
  expect(compose.services.promtail.volumes).toContain('./promtail.yaml:/etc/promtail/promtail.yaml:ro');
  expect(compose.services.alloy.volumes).toContain('./config.alloy:/etc/alloy/config.alloy:ro');
  expect(compose.services.alloy.command).toContain('/etc/alloy/config.alloy');
});

test('compose provisions Grafana with the datasource, the dashboard provider and the generated dashboard', () => {
  const grafana = compose.services.grafana;
  expect(grafana.volumes).toEqual(
    expect.arrayContaining(['./grafana/provisioning:/etc/grafana/provisioning:ro', './grafana/dashboards:/etc/grafana/dashboards:ro']),
  );
  expect(grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe('/etc/grafana/dashboards/platform.json');
  // Every published port listens on loopback only.
  for (const spec of Object.values<any>(compose.services)) {
    for (const port of spec.ports ?? []) expect(port).toMatch(/^127\.0\.0\.1:/);
  }
});
