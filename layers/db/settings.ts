// The database settings as schema entries: the pool's and the health probe's (a module of their own, so the runner
// checks them without loading the driver).
import { tlsProblem } from '../config/database-tls';
import { credentialUrl, fromLocalRuntime, integer, REQUIRED, text } from '../config/schema';

/** The schema entries of the pool settings, for a service whose functions `readBy` use its database. */
export const poolSettings = (readBy: readonly string[]) => ({
  dbPoolMax: integer('DB_POOL_MAX', {
    min: 1,
    max: 100,
    default: { local: 10, deployed: 2 },
    readBy,
    description:
      'connections per pool per process. A Lambda container serves one request at a time: 1–2 is enough there, and keeps a burst of containers from exhausting the database (put RDS Proxy in front of it)',
  }),
  dbQueryTimeoutMs: integer('DB_QUERY_TIMEOUT_MS', {
    min: 100,
    max: 60_000,
    default: 3000,
    readBy,
    description: 'deadline of pool acquisition and of every query, in ms; past it: 503',
  }),
});

/** The schema entry of the health check's database deadline (read by each service's healthCheck function; its probe is layers/db/availability.ts). */
export const healthProbeSetting = () =>
  integer('HEALTH_PROBE_TIMEOUT_MS', {
    min: 100,
    max: 10_000,
    default: 1000,
    readBy: ['healthCheck'],
    description: "deadline of `/health-check`'s database probe, in ms (503 after it)",
  });

/** A service's database URL (its runtime role): from the local runtime on a local stage, else required, with sslmode=verify-full. */
export const databaseUrlSetting = (variable: string, o: { readBy: readonly string[]; local: string; description: string }) =>
  credentialUrl(variable, {
    protocols: ['postgres', 'postgresql'],
    accepts: 'a postgres:// URL; outside stage local with `sslmode=verify-full`',
    readBy: o.readBy,
    default: { local: fromLocalRuntime(o.local), deployed: REQUIRED },
    description: o.description,
    check: (url, context) => (context.local ? undefined : tlsProblem(url)),
  });

/** NODE_EXTRA_CA_CERTS: the CA bundle Node trusts (read by Node itself at start) for verify-full against the database. */
export const caBundleSetting = (readBy: readonly string[]) =>
  text('NODE_EXTRA_CA_CERTS', {
    readBy,
    default: { local: '', deployed: '/var/runtime/ca-cert.pem' },
    description:
      "the CA certificates Node trusts beside its own, for `sslmode=verify-full`: the Lambda runtime's bundle (it holds the RDS CAs) unless you name your own CA file; read by Node when the process starts",
  });
