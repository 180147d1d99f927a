// One embedded Postgres for the whole run; workers find it through LOCAL_STATE_DIR.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres } from './embedded-postgres';

export default async function globalSetup() {
  // The function log lines of this run (test/support/after-env.ts), not the last run's too.
  rmSync(join(__dirname, '..', '..', 'test-results', 'function-logs'), { recursive: true, force: true });
  const pg = await startPostgres();
  (globalThis as { __POSTGRES__?: unknown }).__POSTGRES__ = pg;
  process.env.LOCAL_STATE_DIR = pg.stateDir;
  process.env.TEST_POSTGRES_PID = String(pg.pid);
  process.env.TEST_POSTGRES_PORT = String(pg.port);
}
