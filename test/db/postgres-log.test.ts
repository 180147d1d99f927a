// Values travel as bind parameters, never formatted into the SQL text: Postgres logs the text of a failed or cancelled
// statement, and that text then holds no password hash. Checked on a Postgres of this file's own, whose server log it
// reads whole (the run's shared server logs every file's statements).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { handler as register } from '../../functions/auth/register';
import { isDatabaseUnavailable } from '../../layers/db/availability';
import type { EmbeddedPostgresState } from '../../layers/local-runtime/state';
import { closeDatabases } from '../../functions/deps';
import { startPostgres, type RunningPostgres } from '../support/embedded-postgres';
import { invoke } from '../support/lambda';
import { uniqueName } from '../support/users';

jest.setTimeout(120_000);

let server: RunningPostgres;
let serverLog = '';
const BCRYPT_HASH = /\$2[aby]\$\d\d\$/;

beforeAll(async () => {
  server = await startPostgres();
  server.child.stderr!.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
  // Read by the functions on their first request, which comes after this.
  process.env.LOCAL_STATE_DIR = server.stateDir;
  process.env.DB_QUERY_TIMEOUT_MS = '1000';
});

afterAll(async () => {
  await closeDatabases();
  await server?.stop();
});

const registerAs = (username: string, password: string) => invoke(register, { method: 'POST', path: '/register', body: { username, password } });

/** The server log once it holds `line` (it arrives through a pipe, a little after the statement failed). */
async function logOnceItHolds(line: string): Promise<string> {
  for (let i = 0; i < 100 && !serverLog.includes(line); i++) await new Promise((r) => setTimeout(r, 50));
  expect(serverLog).toContain(line);
  return serverLog;
}

test('a duplicate registration is logged by Postgres without the password hash', async () => {
  const name = uniqueName('victim');
  expect((await registerAs(name, 'first password')).status).toBe(201);
  expect((await registerAs(name.toUpperCase(), 'second password')).status).toBe(409);
  const log = await logOnceItHolds('duplicate key value violates unique constraint "users_username_lower_key"');
  expect(log).toMatch(/STATEMENT: +INSERT INTO users \(username, password_hash\) VALUES \(\$1, \$2\)/);
  expect(log).not.toMatch(BCRYPT_HASH);
});

test('an INSERT cancelled by the statement timeout is logged without the password hash', async () => {
  const state = JSON.parse(readFileSync(join(server.stateDir, 'postgres.json'), 'utf8')) as EmbeddedPostgresState;
  const blocker = new pg.Client(state.appUrl);
  await blocker.connect();
  const name = uniqueName('blocked');
  try {
    // An uncommitted row of the same name: the registration's INSERT waits for it, until its deadline cancels it.
    await blocker.query('BEGIN');
    await blocker.query("INSERT INTO users (username, password_hash) VALUES ($1, 'not a hash')", [name]);
    expect((await registerAs(name, 'a password that waits')).status).toBe(503);
    const log = await logOnceItHolds('canceling statement due to statement timeout');
    expect(log).toMatch(/STATEMENT: +INSERT INTO users \(username, password_hash\) VALUES \(\$1, \$2\)/);
    expect(log).not.toMatch(BCRYPT_HASH);
  } finally {
    await blocker.query('ROLLBACK').catch(() => undefined);
    await blocker.end();
  }
});

test("Postgres's own statement timeout (SQLSTATE 57014) counts as the database being unavailable (503), as the client's deadline does", async () => {
  const state = JSON.parse(readFileSync(join(server.stateDir, 'postgres.json'), 'utf8')) as EmbeddedPostgresState;
  const client = new pg.Client({ connectionString: state.appUrl, statement_timeout: 50 });
  await client.connect();
  try {
    const failure = await client.query('SELECT pg_sleep(2)').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toMatchObject({ code: '57014' });
    expect(isDatabaseUnavailable(failure)).toBe(true);
  } finally {
    await client.end();
  }
});
