// One pg-promise connection pool per database per process, reused across invocations.
import pgPromise, { ParameterizedQuery, type IDatabase, type IMain } from 'pg-promise';
import { integer, type Env } from '../config/env';

export type Database = IDatabase<unknown>;

/**
 * A statement whose values travel as bind parameters. Given `(text, values)`, pg-promise would format the values
 * into the SQL text client-side, and Postgres logs the text of a failed or cancelled statement: a password hash,
 * a key, whatever a client sent, in the server's log. Every store sends its values this way (or as a named,
 * prepared statement, which binds them too).
 */
export const withParameters = (text: string, values: readonly unknown[]) => new ParameterizedQuery({ text, values: [...values] });

export interface PoolSettings {
  /** Connections per process: a Lambda container serves one request at a time, so 1–2 there. */
  dbPoolMax: number;
  /** Deadline of pool acquisition and of every query. */
  dbQueryTimeoutMs: number;
}

/** DB_POOL_MAX and DB_QUERY_TIMEOUT_MS; the pool's default size depends on the stage. */
export function readPoolSettings(env: Env, local: boolean): PoolSettings {
  return {
    dbPoolMax: integer(env, 'DB_POOL_MAX', local ? 10 : 2, 1, 100),
    dbQueryTimeoutMs: integer(env, 'DB_QUERY_TIMEOUT_MS', 3000, 100, 60_000),
  };
}

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

/** The pool for a connection string, created on first use. TLS comes from the URL (`?sslmode=require`), which pg honours. */
export function database(connectionString: string, settings: PoolSettings, applicationName: string): Database {
  const { pgp, pools } = registry();
  let db = pools.get(connectionString);
  if (!db) {
    db = pgp({
      connectionString,
      max: settings.dbPoolMax,
      // Deadlines: pool acquisition and every query fail fast instead of hanging on a frozen server.
      connectionTimeoutMillis: settings.dbQueryTimeoutMs,
      query_timeout: settings.dbQueryTimeoutMs,
      statement_timeout: settings.dbQueryTimeoutMs,
      idleTimeoutMillis: 30_000,
      // Idle connections do not keep a finished process alive (`sls invoke local` would wait 30 s to exit).
      allowExitOnIdle: true,
      keepAlive: true,
      application_name: applicationName,
    });
    pools.set(connectionString, db);
  }
  return db;
}

/** Closes every pool of this process (tests and graceful shutdown). */
export async function closeDatabases(): Promise<void> {
  const { pools, pgp } = registry();
  pools.clear();
  await pgp.end();
}
