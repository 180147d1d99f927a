// The Grafana dashboard: generated from code, provisioned with the right datasource, and every query is
// valid LogQL (Grafana's own grammar) over the three labels the shippers set.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Panel } from '@grafana/schema';
import { LOG_LABELS, EVENTS } from '../../layers/events';
import { SEED_PANELS } from '../../local/observability/aggregate';
import { buildDashboard, dashboardQueries, DASHBOARD_FILE, LOKI_DATASOURCE_UID, renderDashboard } from '../../local/observability/grafana-dashboard';
import { analyze, interpolate } from '../support/logql';
import { OBSERVABILITY } from '../support/log-shippers';

const dashboard = buildDashboard();
const panels = (dashboard.panels ?? []) as Panel[];
const queries = dashboardQueries(dashboard);

test('the committed platform.json is exactly what the builder produces', () => {
  expect(readFileSync(DASHBOARD_FILE, 'utf8')).toBe(renderDashboard());
});

test('every query parses with the LogQL grammar Grafana uses', () => {
  expect(queries.length).toBeGreaterThan(10);
  const broken = queries.map((q) => ({ ...q, errors: analyze(interpolate(q.expr)).errors })).filter((q) => q.errors.length > 0);
  expect(broken).toEqual([]);
});

test('the grammar check catches a broken query (so the check above can fail)', () => {
  expect(analyze(interpolate('sum by (city) (count_over_time({service="x"} | json [$__range])')).errors).not.toEqual([]);
  expect(analyze('{service="x"} | json | line_format').errors).not.toEqual([]);
});

test('queries select streams only by the labels the shippers set, and never by a high-cardinality field', () => {
  for (const { panel, expr } of queries) {
    const { selector } = analyze(interpolate(expr));
    expect({ panel, labels: selector.map((m) => m.label).filter((l) => !(LOG_LABELS as readonly string[]).includes(l)) }).toEqual({ panel, labels: [] });
    expect({ panel, empty: selector.length === 0 }).toEqual({ panel, empty: false });
  }
});

test('the four seed panels count their event by city or username over the selected range', () => {
  const seeds = [
    { title: SEED_PANELS.cacheHits, event: EVENTS.cacheHit.name, by: 'city' },
    { title: SEED_PANELS.externalRequests, event: EVENTS.externalRequest.name, by: 'city' },
    { title: SEED_PANELS.logins, event: EVENTS.loginSucceeded.name, by: 'username' },
    { title: SEED_PANELS.failedLogins, event: EVENTS.loginFailed.name, by: 'username' },
  ];
  for (const seed of seeds) {
    const panel = panels.find((p) => p.title === seed.title);
    expect(panel).toBeDefined();
    const [target] = panel!.targets!;
    const shape = analyze(interpolate(String(target.expr)));
    expect(shape.selector).toContainEqual({ label: 'event', op: '=', value: seed.event });
    expect(shape.json).toBe(true);
    expect(shape.groupBy).toEqual([seed.by]);
    expect(String(target.expr)).toContain('[$__range]');
    expect(target.queryType).toBe('instant');
    expect(target.legendFormat).toBe(`{{${seed.by}}}`);
    // ... and each has a log-line panel beside it showing the same event.
    const lines = panels.filter((p) => p.type === 'logs' && (p.targets ?? []).some((t) => String(t.expr).includes(seed.event)));
    expect(lines.length).toBeGreaterThan(0);
  }
});

test('HAProxy request rate and 4xx/5xx panels read the access log', () => {
  const rate = panels.find((p) => p.title === 'Request rate')!;
  expect(String(rate.targets![0].expr)).toMatch(/^sum by \(backend\) \(rate\(\{service="haproxy"\}/);
  const errors = panels.find((p) => p.title === '4xx and 5xx answers')!;
  expect(errors.targets!.map((t) => analyze(interpolate(String(t.expr))).fields)).toEqual([['status'], ['status']]);
});

test('a service variable filters the event panels', () => {
  const variable = dashboard.templating?.list?.find((v) => v.name === 'service');
  expect(variable).toMatchObject({ type: 'query', query: 'label_values(service)', includeAll: true, multi: true, allValue: '.+' });
  const filtered = queries.filter((q) => q.expr.includes('service=~"$service"'));
  expect(filtered.map((q) => q.panel)).toEqual(expect.arrayContaining(Object.values(SEED_PANELS)));
});

test('panels use the provisioned Loki datasource by its uid, and the provider loads the dashboard folder', () => {
  const datasources = parseYaml(readFileSync(join(OBSERVABILITY, 'grafana/provisioning/datasources/loki.yaml'), 'utf8'));
  expect(datasources.datasources).toEqual([expect.objectContaining({ type: 'loki', uid: LOKI_DATASOURCE_UID, url: 'http://loki:3100' })]);
  for (const panel of panels.filter((p) => p.type !== 'row')) {
    expect({ panel: panel.title, uid: panel.datasource?.uid }).toEqual({ panel: panel.title, uid: LOKI_DATASOURCE_UID });
  }
  const providers = parseYaml(readFileSync(join(OBSERVABILITY, 'grafana/provisioning/dashboards/platform.yaml'), 'utf8'));
  expect(providers.providers).toEqual([
    expect.objectContaining({ type: 'file', folder: 'Platform', options: expect.objectContaining({ path: '/etc/grafana/dashboards' }) }),
  ]);
});

test('panels sit on the 24-column grid without overlapping', () => {
  const cells = new Set<string>();
  for (const panel of dashboard.panels ?? []) {
    const { x, y, w, h } = panel.gridPos!;
    expect(x + w).toBeLessThanOrEqual(24);
    for (let i = x; i < x + w; i++) {
      for (let j = y; j < y + h; j++) {
        expect(cells.has(`${i},${j}`)).toBe(false);
        cells.add(`${i},${j}`);
      }
    }
  }
});
