// The database settings as schema entries: the pool's and the health probe's (a module of their own, so the runner
// checks them without loading the driver).
import { integer } from '../config/schema';

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
