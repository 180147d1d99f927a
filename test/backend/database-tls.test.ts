// TLS to the database comes from the URL: pg honours `sslmode` in DATABASE_URL / WEATHER_DATABASE_URL.
// The test run's embedded Postgres has no certificate, so a URL that demands TLS must be refused by it: proof that
// the driver asked for TLS instead of silently connecting in the clear.
import { readEmbeddedState } from '../../layers/local-runtime/state';
import { isDatabaseUnavailable } from '../../layers/db/availability';
import { databasePools } from '../../layers/db/pool';

const POOL = { dbPoolMax: 1, dbQueryTimeoutMs: 3000 };

function appUrl(query: string): string {
  const state = readEmbeddedState();
  if (!state) throw new Error('the embedded Postgres of the test run is not running');
  return `${state.appUrl}${state.appUrl.includes('?') ? '&' : '?'}${query}`;
}

const pools = databasePools();
const database = pools.database;

afterAll(() => pools.closeAll());

describe('database TLS', () => {
  test('?sslmode=verify-full makes the driver ask for TLS (refused by a server without it, answered 503)', async () => {
    const failure = await database(appUrl('sslmode=verify-full'), POOL, 'tls-test')
      .one('SELECT 1 AS ok')
      .catch((err: unknown) => err);
    expect(String((failure as Error).message)).toMatch(/does not support SSL/);
    expect(isDatabaseUnavailable(failure)).toBe(true);
  });

  test('?sslmode=disable connects in the clear', async () => {
    await expect(database(appUrl('sslmode=disable'), POOL, 'tls-test').one('SELECT 1 AS ok')).resolves.toEqual({ ok: 1 });
  });
});
