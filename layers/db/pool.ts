// One pg-promise connection pool per database per process, reused across invocations.
import pgPromise, { type IDatabase, type IMain } from 'pg-promise';
import { config } from '../config';

export type Database = IDatabase<unknown>;

// Lives on globalThis because serverless-offline loads each function's bundle separately into one process:
// every bundle then shares the same pools instead of opening its own.
const KEY = Symbol.for('platform.db');
interface Registry {
  pgp: IMain;
  pools: Map<string, Database>;
}
type Global = typeof globalThis & { [KEY]?: Registry };

function registry(): Registry {
  const g = globalThis as Global;
  g[KEY] ??= { pgp: pgPromise({ noWarnings: true }), pools: new Map() };
  return g[KEY];
}

/** The pool for a connection string, created on first use. */
export function database(connectionString: string): Database {
  const { pgp, pools } = registry();
  let db = pools.get(connectionString);
  if (!db) {
    const { dbPoolMax, dbQueryTimeoutMs } = config();
    db = pgp({
      connectionString,
      max: dbPoolMax,
      // Deadlines: pool acquisition and every query fail fast instead of hanging on a frozen server.
      connectionTimeoutMillis: dbQueryTimeoutMs,
      query_timeout: dbQueryTimeoutMs,
      statement_timeout: dbQueryTimeoutMs,
      idleTimeoutMillis: 30_000,
      // Idle connections do not keep a finished process alive (`sls invoke local` would wait 30 s to exit).
      allowExitOnIdle: true,
      keepAlive: true,
      application_name: process.env.POWERTOOLS_SERVICE_NAME || 'app-backend',
    });
    pools.set(connectionString, db);
  }
  return db;
}

/** The app backend's database (role app_user). */
export const appDatabase = (): Database => database(config().databaseUrl);

/** The weather service's database (role weather_user). */
export const weatherDatabase = (): Database => database(config().weatherDatabaseUrl);

/** Closes every pool of this process (tests and graceful shutdown). */
export async function closeDatabases(): Promise<void> {
  const { pools, pgp } = registry();
  pools.clear();
  await pgp.end();
}
