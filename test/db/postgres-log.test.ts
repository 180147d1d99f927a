// Values travel as bind parameters, never formatted into the SQL text: Postgres logs the text of a failed or cancelled
// statement, and that text then holds no password hash. Role passwords, which cannot be parameters, are set by
// statements Postgres never logs. Checked on a Postgres of this file's own, whose server log it reads whole (the run's
// shared server logs every file's statements).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { handler as register } from '../../functions/auth/register';
import { isDatabaseUnavailable } from '../../layers/db/availability';
import type { EmbeddedPostgresState } from '../../layers/local-runtime/state';
import { closeDatabases } from '../../functions/deps';
import { ensureRole } from '../../local/services/postgres-roles';
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

describe('role passwords (CREATE/ALTER ROLE … PASSWORD cannot take bind parameters)', () => {
  let admin: pg.Client;
  beforeAll(async () => {
    const { superuser } = JSON.parse(readFileSync(join(server.stateDir, 'postgres-secrets.json'), 'utf8')) as { superuser: string };
    admin = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'postgres', password: superuser, database: 'postgres' });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
  });
  const password = () => randomBytes(24).toString('base64url');

  test('a role statement that fails is logged without its password', async () => {
    const secret = password();
    // Names starting with pg_ are reserved: CREATE ROLE fails after its text is parsed.
    await expect(ensureRole(admin, 'pg_not_allowed', secret)).rejects.toThrow(/reserved/);
    const log = await logOnceItHolds('role name "pg_not_allowed" is reserved');
    expect(log).not.toContain(secret);
    // The failure is still in the log, without the statement.
    expect(log).not.toMatch(/STATEMENT: +CREATE ROLE pg_not_allowed/);
  });

  test('on a session that logs every statement, creating and then altering a role logs neither password', async () => {
    const [first, second] = [password(), password()];
    await admin.query("SET log_statement = 'all'");
    await admin.query('SET log_min_duration_statement = 0');
    try {
      await ensureRole(admin, 'logged_session_role', first);
      await ensureRole(admin, 'logged_session_role', second);
      // The session logs statements again afterwards (SET LOCAL ended with the transaction).
      await admin.query("SELECT 'after the roles' AS marker");
      const log = await logOnceItHolds("SELECT 'after the roles' AS marker");
      expect(log).not.toContain(first);
      expect(log).not.toContain(second);
      // The role has the second password.
      const role = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'logged_session_role', password: second, database: 'postgres' });
      await role.connect();
      await role.end();
    } finally {
      await admin.query('RESET log_statement; RESET log_min_duration_statement');
      await admin.query('DROP ROLE IF EXISTS logged_session_role');
    }
  });
});
