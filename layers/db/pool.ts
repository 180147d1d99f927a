// The connection pools of a process: one pg-promise pool per database URL, reused across invocations.
import pgPromise, { ParameterizedQuery, type IDatabase } from 'pg-promise';

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

export interface Pools {
  /** The pool for a connection string, created on first use. TLS comes from the URL (`sslmode`), which pg honours. */
  database(connectionString: string, settings: PoolSettings, applicationName: string): Database;
  /** Closes every pool (tests and graceful shutdown). */
  closeAll(): Promise<void>;
}

export function databasePools(): Pools {
  const pgp = pgPromise({ noWarnings: true });
  const pools = new Map<string, Database>();
  return {
    database(connectionString, settings, applicationName) {
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
    },
    async closeAll() {
      pools.clear();
      await pgp.end();
    },
  };
}
