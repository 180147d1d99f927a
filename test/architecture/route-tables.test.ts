// The 404/405 fallbacks answer from a table of methods and paths, not from the routes themselves (so they bundle no
// handler): the tables must list exactly what each service serves, as its route specs and its serverless.yml say.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BACKEND_ROUTE_TABLE } from '../../functions/route-table';
import { backendRoutes } from '../../functions/routes';
import { WEATHER_ROUTE_TABLE } from '../../functions/weather/route-table';
import { weatherRoutes } from '../../functions/weather/routes';
import type { RouteKey } from '../../layers/http/fallback';

const ROOT = join(__dirname, '..', '..');
const key = (r: RouteKey) => `${r.method} ${r.url}`;

type Event = { method: string; path: string };

/**
 * The route keys of a serverless.yml's events (REST `http` and HTTP API `httpApi`), in fastify syntax
 * (/user/{user_id} → /user/:user_id); catch-alls (any method, a greedy path) left out.
 */
function templateRoutes(file: string): string[] {
  const doc = parse(readFileSync(join(ROOT, file), 'utf8'), { merge: true }) as { functions: Record<string, { events?: { http?: Event; httpApi?: Event }[] }> };
  return Object.values(doc.functions)
    .flatMap((fn) => fn.events ?? [])
    .map((event) => event.http ?? event.httpApi)
    .filter((api): api is Event => api !== undefined && !['*', 'any'].includes(api.method.toLowerCase()) && !api.path.includes('+}'))
    .map((api) => `${api.method.toUpperCase()} ${api.path.replace(/\{(\w+)\}/g, ':$1')}`);
}

describe('the route tables', () => {
  test.each([
    ['backend', BACKEND_ROUTE_TABLE, backendRoutes, 'serverless.yml'],
    ['weather service', WEATHER_ROUTE_TABLE, weatherRoutes, 'functions/weather/serverless.yml'],
  ] as const)('the %s table lists every route its specs and its serverless.yml serve, and nothing else', (_, table, specs, template) => {
    const listed = table.map(key).sort();
    expect(new Set(listed).size).toBe(listed.length);
    expect(listed).toEqual([...templateRoutes(template)].sort());
    // Every spec is in the table (the documentation's own routes are served by its plugins, not by specs).
    expect(specs.map(key).filter((route) => !listed.includes(route))).toEqual([]);
  });
});
