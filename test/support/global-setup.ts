// One embedded Postgres for the whole run; workers find it through LOCAL_STATE_DIR.
import { startPostgres } from './embedded-postgres';

export default async function globalSetup() {
  const pg = await startPostgres();
  (globalThis as { __POSTGRES__?: unknown }).__POSTGRES__ = pg;
  process.env.LOCAL_STATE_DIR = pg.stateDir;
  process.env.TEST_POSTGRES_PID = String(pg.pid);
  process.env.TEST_POSTGRES_PORT = String(pg.port);
}
