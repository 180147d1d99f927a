// The weather service's methods and paths, as data: its 404/405 fallback answers from it without bundling any handler.
// test/architecture/route-tables.test.ts checks it against the route specs (./routes.ts) and its serverless.yml.
import type { RouteKey } from '../../layers/http/fallback';

export const WEATHER_ROUTE_TABLE: readonly RouteKey[] = [
  { method: 'GET', url: '/weather/:city' },
  { method: 'GET', url: '/health-check' },
];
