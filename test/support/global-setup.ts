// One embedded Postgres for the whole run; workers find it through LOCAL_STATE_DIR. It accepts TLS too, with a
// certificate of a CA made for the run (TEST_POSTGRES_CA): the as-deployed tier connects with sslmode=verify-full.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres } from './embedded-postgres';
import { makeTestCertificates } from './test-ca';

export default async function globalSetup() {
  // The function log lines of this run (test/support/after-env.ts), not the last run's too.
  rmSync(join(__dirname, '..', '..', 'test-results', 'function-logs'), { recursive: true, force: true });
  const tls = makeTestCertificates();
  (globalThis as { __POSTGRES_TLS__?: unknown }).__POSTGRES_TLS__ = tls;
  const pg = await startPostgres(['--ephemeral', '--exit-with-parent', '--tls-cert', tls.certFile, '--tls-key', tls.keyFile]);
  (globalThis as { __POSTGRES__?: unknown }).__POSTGRES__ = pg;
  process.env.TEST_POSTGRES_CA = tls.caFile;
  process.env.LOCAL_STATE_DIR = pg.stateDir;
  process.env.TEST_POSTGRES_PID = String(pg.pid);
  process.env.TEST_POSTGRES_PORT = String(pg.port);
}
