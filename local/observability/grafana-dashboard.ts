// Builds the Grafana dashboard from code, typed against Grafana's own schema package, so the committed JSON
// is reviewed as code and queries are derived from the event definitions in layers/events.ts.
//
//   tsx local/observability/dashboard.ts          writes grafana/dashboards/platform.json
//   tsx local/observability/dashboard.ts --check  exits 1 when the committed file differs from the builder
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DashboardCursorSync,
  FieldColorModeId,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type DataSourceRef,
  type Panel,
  type RowPanel,
  type VariableModel,
} from '@grafana/schema';
import { ACCESS_LOG, EVENTS, type EventKey } from '../../layers/events';
import { SEED_PANELS } from './aggregate';

/** The uid the provisioned Loki datasource carries (grafana/provisioning/datasources/loki.yaml). */
export const LOKI_DATASOURCE_UID = 'loki';
export const DASHBOARD_UID = 'platform';
export const DASHBOARD_FILE = join(__dirname, 'grafana', 'dashboards', 'platform.json');

const LOKI: DataSourceRef = { type: 'loki', uid: LOKI_DATASOURCE_UID };

/** The stream selector of one event, narrowed by the dashboard's service variable. */
export function eventSelector(key: EventKey): string {
  return `{service=~"$service", event="${EVENTS[key].name}"}`;
}

const ACCESS = `{service="${ACCESS_LOG.service}"}`;

/** Lines of one event counted over the selected range, one series per value of `by`. */
export function countBy(key: EventKey, by: string): string {
  return `sort_desc(sum by (${by}) (count_over_time(${eventSelector(key)} | json [$__range])))`;
}

const total = (selector: string) => `sum(count_over_time(${selector} [$__range]))`;

interface Target {
  expr: string;
  legendFormat?: string;
  instant?: boolean;
}

function targets(list: Target[]): Record<string, unknown>[] {
  return list.map((t, i) => ({
    refId: String.fromCharCode(65 + i),
    datasource: LOKI,
    editorMode: 'code',
    expr: t.expr,
    queryType: t.instant ? 'instant' : 'range',
    ...(t.legendFormat ? { legendFormat: t.legendFormat } : {}),
  }));
}

type Size = { w: number; h: number };

function counts(title: string, description: string, target: Target, size: Size): Panel {
  return {
    type: 'bargauge',
    title,
    description,
    datasource: LOKI,
    gridPos: { x: 0, y: 0, ...size },
    targets: targets([{ ...target, instant: true }]),
    options: {
      orientation: 'horizontal',
      displayMode: 'gradient',
      valueMode: 'color',
      namePlacement: 'left',
      showUnfilled: true,
      sizing: 'auto',
      minVizHeight: 16,
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
    },
    fieldConfig: {
      defaults: { unit: 'short', decimals: 0, min: 0, color: { mode: FieldColorModeId.PaletteClassicByName } },
      overrides: [],
    },
  };
}

function stat(title: string, expr: string, color: string): Panel {
  return {
    type: 'stat',
    title,
    datasource: LOKI,
    gridPos: { x: 0, y: 0, w: 3, h: 4 },
    targets: targets([{ expr, instant: true }]),
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'value',
      graphMode: 'none',
      textMode: 'value',
      justifyMode: 'center',
      orientation: 'auto',
    },
    fieldConfig: {
      defaults: {
        unit: 'short',
        decimals: 0,
        noValue: '0',
        color: { mode: FieldColorModeId.Fixed, fixedColor: color },
      },
      overrides: [],
    },
  };
}

function timeseries(title: string, description: string, list: Target[], unit: string, size: Size): Panel {
  return {
    type: 'timeseries',
    title,
    description,
    datasource: LOKI,
    gridPos: { x: 0, y: 0, ...size },
    targets: targets(list),
    options: {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
    fieldConfig: {
      defaults: { unit, min: 0, custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, spanNulls: false } },
      overrides: [],
    },
  };
}

function logs(title: string, description: string, expr: string, size: Size): Panel {
  return {
    type: 'logs',
    title,
    description,
    datasource: LOKI,
    gridPos: { x: 0, y: 0, ...size },
    targets: targets([{ expr }]),
    options: {
      showTime: true,
      wrapLogMessage: true,
      sortOrder: 'Descending',
      enableLogDetails: true,
      dedupStrategy: 'none',
      prettifyLogMessage: false,
      showLabels: false,
      showCommonLabels: false,
    },
  };
}

function row(title: string): RowPanel {
  return { type: 'row', id: 0, title, collapsed: false, gridPos: { x: 0, y: 0, w: 24, h: 1 }, panels: [] };
}

/** Places panels left to right, wrapping at Grafana's 24 columns, and numbers them. */
function layout(panels: Array<Panel | RowPanel>): Array<Panel | RowPanel> {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return panels.map((panel, i) => {
    const { w, h } = panel.gridPos!;
    if (x + w > 24) {
      y += rowHeight;
      x = 0;
      rowHeight = 0;
    }
    const placed = { ...panel, id: i + 1, gridPos: { x, y, w, h } };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    return placed;
  });
}

const serviceVariable: VariableModel = {
  name: 'service',
  label: 'Service',
  description: 'Filters the event panels and the all-services panels; the HAProxy panels always read the ingress.',
  type: 'query',
  datasource: LOKI,
  query: 'label_values(service)',
  refresh: VariableRefresh.onTimeRangeChanged,
  sort: VariableSort.alphabeticalAsc,
  multi: true,
  includeAll: true,
  allValue: '.+',
  current: { text: ['All'], value: ['$__all'] },
};

const half = { w: 12, h: 9 };
const wide = { w: 12, h: 10 };

/** The totals of the selected range, one number each. */
function overviewPanels(): Array<Panel | RowPanel> {
  return [
    row('Overview (selected range)'),
    stat('Requests', total(ACCESS), 'blue'),
    stat('4xx answers', `sum(count_over_time(${ACCESS} | json | status=~"4.." [$__range]))`, 'orange'),
    stat('5xx answers', `sum(count_over_time(${ACCESS} | json | status=~"5.." [$__range]))`, 'red'),
    stat('Cache hits', total(eventSelector('cacheHit')), 'green'),
    stat('Cache misses', total(eventSelector('cacheMiss')), 'yellow'),
    stat('Upstream calls', total(eventSelector('externalRequest')), 'purple'),
    stat('Logins', total(eventSelector('loginSucceeded')), 'green'),
    stat('Failed logins', total(eventSelector('loginFailed')), 'red'),
  ];
}

/** The weather cache and its upstream calls. */
function weatherPanels(): Array<Panel | RowPanel> {
  return [
    row('Weather service'),
    counts(
      SEED_PANELS.cacheHits,
      'Requests answered from the weather cache (weather.cache_hit), per city, over the selected range.',
      { expr: countBy('cacheHit', 'city'), legendFormat: '{{city}}' },
      half,
    ),
    counts(
      SEED_PANELS.externalRequests,
      'Calls to OpenWeatherMap (weather.external_request), per city, over the selected range.',
      { expr: countBy('externalRequest', 'city'), legendFormat: '{{city}}' },
      half,
    ),
    logs(
      'Cache hits and misses',
      'weather.cache_hit and weather.cache_miss lines.',
      `{service=~"$service", event=~"${EVENTS.cacheHit.name}|${EVENTS.cacheMiss.name}"} | json | line_format "{{.event}} city={{.city}} request_id={{.request_id}}"`,
      half,
    ),
    logs(
      'External API requests',
      'weather.external_request lines: upstream status and duration.',
      `${eventSelector('externalRequest')} | json | line_format "city={{.city}} status={{.status}} duration_ms={{.duration_ms}} request_id={{.request_id}}"`,
      half,
    ),
    timeseries(
      'Upstream latency p95 by city',
      'OpenWeatherMap call duration (duration_ms of weather.external_request).',
      [
        {
          expr: `quantile_over_time(0.95, ${eventSelector('externalRequest')} | json | unwrap duration_ms [$__auto]) by (city)`,
          legendFormat: '{{city}}',
        },
      ],
      'ms',
      { w: 24, h: 8 },
    ),
  ];
}

/** Logins and failed logins, per username. */
function userPanels(): Array<Panel | RowPanel> {
  return [
    row('Users'),
    counts(
      SEED_PANELS.logins,
      'Successful POST /token (auth.login_succeeded), per username, over the selected range.',
      { expr: countBy('loginSucceeded', 'username'), legendFormat: '{{username}}' },
      half,
    ),
    counts(
      SEED_PANELS.failedLogins,
      'Refused POST /token (auth.login_failed: unknown user, wrong password or throttled), per username, over the selected range; names without an account count as "unknown".',
      { expr: countBy('loginFailed', 'username'), legendFormat: '{{username}}' },
      half,
    ),
    logs('Logins', 'auth.login_succeeded lines.', `${eventSelector('loginSucceeded')} | json | line_format "{{.username}} request_id={{.request_id}}"`, half),
    logs(
      'Failed login attempts',
      'auth.login_failed lines, with the reason.',
      `${eventSelector('loginFailed')} | json | line_format "{{.username}} reason={{.reason}} request_id={{.request_id}}"`,
      half,
    ),
  ];
}

/** The ingress's access log: rates, errors, latency. */
function ingressPanels(): Array<Panel | RowPanel> {
  return [
    row('Ingress (HAProxy access log)'),
    timeseries(
      'Request rate',
      'Requests per second through HAProxy, per backend.',
      [{ expr: `sum by (backend) (rate(${ACCESS} | json [$__auto]))`, legendFormat: '{{backend}}' }],
      'reqps',
      wide,
    ),
    timeseries(
      '4xx and 5xx answers',
      'Error answers per second through HAProxy.',
      [
        { expr: `sum(rate(${ACCESS} | json | status=~"4.." [$__auto]))`, legendFormat: '4xx' },
        { expr: `sum(rate(${ACCESS} | json | status=~"5.." [$__auto]))`, legendFormat: '5xx' },
      ],
      'reqps',
      wide,
    ),
    timeseries(
      'Response time p95',
      'HAProxy total time (duration_ms), per backend.',
      [{ expr: `quantile_over_time(0.95, ${ACCESS} | json | unwrap duration_ms [$__auto]) by (backend)`, legendFormat: '{{backend}}' }],
      'ms',
      wide,
    ),
    logs(
      'Error answers',
      'HAProxy access-log lines with a 4xx or 5xx status.',
      `${ACCESS} | json | status=~"[45].." | line_format "{{.status}} {{.method}} {{.path}} {{.duration_ms}}ms request_id={{.request_id}}"`,
      wide,
    ),
  ];
}

/** Every shipped line, by service and level. */
function allServicesPanels(): Array<Panel | RowPanel> {
  return [
    row('All services'),
    timeseries(
      'Log lines by service and level',
      'Every shipped line, per service and level.',
      [{ expr: `sum by (service, level) (count_over_time({service=~"$service"} [$__auto]))`, legendFormat: '{{service}} {{level}}' }],
      'short',
      wide,
    ),
    logs('Warnings and errors', 'WARN and ERROR lines of the selected services.', `{service=~"$service", level=~"WARN|ERROR|CRITICAL"}`, wide),
  ];
}

export function buildDashboard(): Dashboard {
  const panels = [...overviewPanels(), ...weatherPanels(), ...userPanels(), ...ingressPanels(), ...allServicesPanels()];

  return {
    uid: DASHBOARD_UID,
    title: 'Weather & users platform',
    description: 'Function events and the HAProxy access log, shipped to Loki from local/logs (or CloudWatch via lambda-promtail).',
    tags: ['platform', 'loki'],
    editable: true,
    graphTooltip: DashboardCursorSync.Crosshair,
    schemaVersion: 41,
    version: 1,
    timezone: 'browser',
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    templating: { list: [serviceVariable] },
    annotations: { list: [] },
    links: [],
    panels: layout(panels),
  };
}

/** Every LogQL expression in the dashboard, with the title of its panel. */
export function dashboardQueries(dashboard: Dashboard): Array<{ panel: string; expr: string }> {
  return (dashboard.panels ?? []).flatMap((panel) => ((panel as Panel).targets ?? []).map((t) => ({ panel: panel.title ?? '', expr: String(t.expr) })));
}

export function renderDashboard(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

if (require.main === module) {
  const rendered = renderDashboard();
  if (process.argv.includes('--check')) {
    const committed = readFileSync(DASHBOARD_FILE, 'utf8');
    if (committed !== rendered) {
      console.error(`${DASHBOARD_FILE} is out of date: run tsx local/observability/dashboard.ts`);
      process.exit(1);
    }
    console.log('dashboard up to date');
  } else {
    writeFileSync(DASHBOARD_FILE, rendered);
    console.log(`wrote ${DASHBOARD_FILE}`);
  }
}
