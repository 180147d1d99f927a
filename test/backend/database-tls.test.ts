// TLS to the database comes from the URL: pg honours `sslmode` in DATABASE_URL / WEATHER_DATABASE_URL. The test run's
// Postgres serves TLS with a certificate of a CA made for the run (test/support/test-ca.ts), so sslmode=verify-full
// connects only when the client trusts that CA: proof that the driver verifies the server instead of merely encrypting.
import { readEmbeddedState } from '../../layers/local-runtime/state';
import { isDatabaseUnavailable } from '../../layers/db/availability';
import { databasePools } from '../../layers/db/pool';

const POOL = { dbPoolMax: 1, dbQueryTimeoutMs: 3000 };
const ENCRYPTED = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()';

function appUrl(query: string): string {
  const state = readEmbeddedState();
  if (!state) throw new Error('the embedded Postgres of the test run is not running');
  return `${state.appUrl}${state.appUrl.includes('?') ? '&' : '?'}${query}`;
}

const pools = databasePools();
const database = pools.database;

const ca = () => {
  if (!process.env.TEST_POSTGRES_CA) throw new Error('the test run has no CA for its Postgres (test/support/global-setup.ts)');
  return process.env.TEST_POSTGRES_CA;
};

afterAll(() => pools.closeAll());

describe('database TLS', () => {
  test('?sslmode=verify-full trusting the server’s CA connects, and the server sees an encrypted session', async () => {
    const db = database(appUrl(`sslmode=verify-full&sslrootcert=${encodeURIComponent(ca())}`), POOL, 'tls-test');
    await expect(db.one(ENCRYPTED)).resolves.toEqual({ ssl: true });
  });

  test('?sslmode=verify-full without trusting the CA refuses the certificate (the database is unavailable: 503)', async () => {
    const failure = await database(appUrl('sslmode=verify-full'), POOL, 'tls-test')
      .one('SELECT 1 AS ok')
      .catch((err: unknown) => err);
    expect(String((failure as Error).message)).toMatch(/unable to verify the first certificate|self[- ]signed certificate/);
    expect(isDatabaseUnavailable(failure)).toBe(true);
  });

  test('?sslmode=disable connects in the clear', async () => {
    await expect(database(appUrl('sslmode=disable'), POOL, 'tls-test').one(ENCRYPTED)).resolves.toEqual({ ssl: false });
  });
});
