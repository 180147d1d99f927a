// The backend's methods and paths, as data: the 404/405 fallback answers from it without bundling any handler.
// test/architecture/route-tables.test.ts checks it against the route specs (functions/routes.ts) and serverless.yml.
import type { RouteKey } from '../layers/http/fallback';

export const BACKEND_ROUTE_TABLE: readonly RouteKey[] = [
  { method: 'POST', url: '/register' },
  { method: 'POST', url: '/token' },
  { method: 'GET', url: '/health-check' },
  { method: 'GET', url: '/users' },
  { method: 'GET', url: '/user/:user_id' },
  { method: 'DELETE', url: '/user/:user_id' },
  { method: 'GET', url: '/weather/:city' },
  { method: 'GET', url: '/openapi.json' },
  { method: 'GET', url: '/docs' },
];
