// Migrations run as each database's owner; the roles the functions use have DML only. A data dir made with the
// earlier layout (runtime roles owning their databases and tables) is upgraded in place, its users intact.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import bcrypt from 'bcrypt';
import pg from 'pg';
import { localStateDir, readEmbeddedState, type EmbeddedPostgresState } from '../../layers/local-runtime/state';
import { DATABASES, migrateDatabase, withClient } from '../../local/services/migrations';
import { ROOT, TSX } from '../support/child';
import { startPostgres, type RunningPostgres } from '../support/embedded-postgres';
import { invoke } from '../support/lambda';
import { uniqueName } from '../support/users';

/** The Postgres error code of a statement that must fail ('42501': insufficient privilege). */
const failure = (client: pg.Client, sql: string) =>
  client.query(sql).then(
    () => 'succeeded',
    (err: { code?: string }) => err.code,
  );

const urlsOf = (state: EmbeddedPostgresState) => ({ app_db: state.appUrl, weather_db: state.weatherUrl });
const TABLES = { app_db: 'users', weather_db: 'weather_cache' } as const;

describe('the runtime roles on the run embedded Postgres', () => {
  test.each(DATABASES.map((d) => [d.role, d.name] as const))('%s reads and writes %s but cannot change its schema', async (role, db) => {
    const url = urlsOf(readEmbeddedState()!)[db];
    await withClient(url, async (c) => {
      expect((await c.query('SELECT current_user AS me')).rows[0].me).toBe(role);
      await c.query(`SELECT count(*) FROM ${TABLES[db]}`);
      expect(await failure(c, 'CREATE TABLE intruder (id int)')).toBe('42501');
      expect(await failure(c, `DROP TABLE ${TABLES[db]}`)).toBe('42501');
      expect(await failure(c, `ALTER TABLE ${TABLES[db]} ADD COLUMN extra int`)).toBe('42501');
      expect(await failure(c, `TRUNCATE ${TABLES[db]}`)).toBe('42501');
      expect(await failure(c, 'CREATE SCHEMA intruder')).toBe('42501');
      expect(await failure(c, 'CREATE TEMP TABLE intruder (id int)')).toBe('42501');
      expect(await failure(c, 'DELETE FROM pgmigrations')).toBe('42501');
      const owner = await c.query('SELECT tableowner FROM pg_tables WHERE tablename = $1', [TABLES[db]]);
      expect(owner.rows[0].tableowner).toBe(DATABASES.find((d) => d.name === db)!.owner);
    });
  });

  test.each(DATABASES.map((d) => [d.role, d.name] as const))(
    '%s has SELECT, INSERT, UPDATE, DELETE on every table of %s, those of later migrations too',
    async (role, db) => {
      const url = urlsOf(readEmbeddedState()!)[db];
      await withClient(url, async (c) => {
        const { rows } = await c.query<{ table: string; dml: boolean }>(
          `SELECT tablename AS table, bool_and(has_table_privilege(current_user, format('%I', tablename), p)) AS dml
           FROM pg_tables, unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS p
          WHERE schemaname = 'public' AND tablename <> 'pgmigrations' GROUP BY tablename ORDER BY tablename`,
        );
        expect(rows.map((r) => r.table)).toContain(TABLES[db]);
        expect(rows.filter((r) => !r.dml).map((r) => `${role} on ${r.table}`)).toEqual([]);
      });
    },
  );

  test('weather_user can use the budget and lease tables of the weather migrations', async () => {
    await withClient(readEmbeddedState()!.weatherUrl, async (c) => {
      for (const table of ['weather_cache', 'weather_upstream_slots', 'weather_refresh_leases']) await c.query(`SELECT count(*) FROM ${table}`);
      const key = `grant-check-${randomBytes(4).toString('hex')}`;
      await c.query(`INSERT INTO weather_refresh_leases (city_key, holder, expires_at) VALUES ($1, gen_random_uuid(), now())`, [key]);
      await c.query(`UPDATE weather_refresh_leases SET expires_at = now() WHERE city_key = $1`, [key]);
      await c.query(`DELETE FROM weather_refresh_leases WHERE city_key = $1`, [key]);
    });
  });

  test('each runtime role reaches only its own database', async () => {
    const { appUrl, weatherUrl } = readEmbeddedState()!;
    const cross = appUrl.replace(/\/app_db$/, '/weather_db');
    await expect(withClient(cross, (c) => c.query('SELECT 1'))).rejects.toMatchObject({ code: '42501' });
    await expect(withClient(weatherUrl.replace(/\/weather_db$/, '/app_db'), (c) => c.query('SELECT 1'))).rejects.toMatchObject({ code: '42501' });
  });
});

describe('npm run migrate, as a deployer runs it', () => {
  const id = randomBytes(4).toString('hex');
  const [owner, runtime, db] = [`mig_owner_${id}`, `mig_user_${id}`, `mig_${id}`];
  const password = randomBytes(12).toString('hex');
  const at = (role: string, database = db) => `postgres://${role}:${password}@127.0.0.1:${readEmbeddedState()!.port}/${database}`;
  const superuser = () => {
    const secret = JSON.parse(readFileSync(join(localStateDir(), 'postgres-secrets.json'), 'utf8')).superuser as string;
    return `postgres://postgres:${encodeURIComponent(secret)}@127.0.0.1:${readEmbeddedState()!.port}`;
  };
  const migrate = () =>
    promisify(execFile)(TSX, ['local/bin/migrate.ts', '--app', at(owner), '--app-role', runtime], {
      cwd: ROOT,
      env: { ...process.env, LOCAL_STATE_DIR: '/nonexistent' },
    });

  beforeAll(() =>
    withClient(`${superuser()}/postgres`, async (c) => {
      await c.query(`CREATE ROLE ${owner} LOGIN PASSWORD '${password}'`);
      await c.query(`CREATE ROLE ${runtime} LOGIN PASSWORD '${password}'`);
      await c.query(`CREATE DATABASE ${db} OWNER ${owner}`);
    }),
  );
  afterAll(() =>
    withClient(`${superuser()}/postgres`, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await c.query(`DROP ROLE IF EXISTS ${runtime}`);
      await c.query(`DROP ROLE IF EXISTS ${owner}`);
    }),
  );

  test('migrates as the owner, grants the runtime role DML only, also on tables later migrations add; runs again', async () => {
    const { stdout } = await migrate();
    expect(stdout).toMatch(new RegExp(`app: migrated layers/db/migrations/app, runtime role ${runtime}`));
    expect(stdout).not.toContain(password);
    await withClient(at(owner), (c) => c.query('CREATE TABLE later_migration (id int)')); // what a future migration does
    await withClient(at(runtime), async (c) => {
      await c.query("INSERT INTO users (username, password_hash) VALUES ('someone', 'x')");
      expect((await c.query('SELECT count(*)::int AS n FROM users')).rows[0].n).toBe(1);
      await c.query('INSERT INTO later_migration VALUES (1)');
      // The login counters' table (an app migration of its own, which dropped login_throttle) is the runtime role's
      // to read and write, not to change.
      await c.query(
        "INSERT INTO login_counters VALUES ('address', '192.0.2.1', 1, now(), now(), 5, 30, 900, 900) ON CONFLICT (scope, key) DO UPDATE SET failures = login_counters.failures + 1",
      );
      await c.query("DELETE FROM login_counters WHERE scope = 'address' AND key = '192.0.2.1'");
      expect(await failure(c, 'TRUNCATE login_counters')).toBe('42501');
      expect(await failure(c, 'DROP TABLE login_counters')).toBe('42501');
      expect(await failure(c, 'SELECT 1 FROM login_throttle')).toBe('42P01');
      expect(await failure(c, 'CREATE TABLE intruder (id int)')).toBe('42501');
      expect(await failure(c, 'DROP TABLE later_migration')).toBe('42501');
      expect(await failure(c, 'SELECT * FROM pgmigrations')).toBe('42501');
    });
    await migrate(); // idempotent
    await withClient(at(runtime), async (c) => expect((await c.query('SELECT count(*)::int AS n FROM users')).rows[0].n).toBe(1));
  });

  test('refuses tables another role owns, and says what to run', async () => {
    await withClient(`${superuser()}/${db}`, (c) => c.query(`CREATE TABLE stray (id int); ALTER TABLE stray OWNER TO ${runtime}`));
    const failed = await migrate().then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain(`REASSIGN OWNED BY ${runtime} TO ${owner};`);
  });
});

describe('a data dir from the earlier layout', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'platform-upgrade-'));
  chmodSync(stateDir, 0o755); // as root, the postgres system user must reach the data dir inside
  let server: RunningPostgres | undefined;
  const start = async () => (server = await startPostgres(['--state-dir', stateDir, '--exit-with-parent']));
  const state = () => JSON.parse(readFileSync(join(stateDir, 'postgres.json'), 'utf8')) as EmbeddedPostgresState;
  const secrets = () => JSON.parse(readFileSync(join(stateDir, 'postgres-secrets.json'), 'utf8')) as Record<string, string>;
  const superuserUrl = (db: string) => `postgres://postgres:${encodeURIComponent(secrets().superuser)}@127.0.0.1:${state().port}/${db}`;
  const username = uniqueName('old');
  const password = 'survives the upgrade';

  const stateDirBefore = process.env.LOCAL_STATE_DIR;
  afterAll(async () => {
    process.env.LOCAL_STATE_DIR = stateDirBefore;
    await server?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  /** What the embedded Postgres's setup did before owner roles: each runtime role owns its database and runs its migrations. */
  async function rebuildAsEarlierLayout() {
    await withClient(superuserUrl('postgres'), async (admin) => {
      for (const { name, role, owner } of DATABASES) {
        await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
        await admin.query(`DROP OWNED BY ${owner}`);
        await admin.query(`DROP ROLE ${owner}`);
        await admin.query(`CREATE DATABASE ${name} OWNER ${role}`);
        await admin.query(`REVOKE ALL ON DATABASE ${name} FROM PUBLIC`);
        await admin.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${name} TO ${role}`);
      }
    });
    const { superuser, app_user, weather_user } = secrets();
    writeFileSync(join(stateDir, 'postgres-secrets.json'), JSON.stringify({ superuser, app_user, weather_user }), { mode: 0o600 });
    for (const [db, url] of Object.entries(urlsOf(state()))) {
      await migrateDatabase({ ownerUrl: url, dir: DATABASES.find((d) => d.name === db)!.migrations });
    }
    await withClient(state().appUrl, async (c) => {
      await c.query('INSERT INTO users (username, password_hash) VALUES ($1, $2)', [username, await bcrypt.hash(password, 4)]);
      expect((await c.query("SELECT tableowner FROM pg_tables WHERE tablename = 'users'")).rows[0].tableowner).toBe('app_user');
    });
  }

  test('is upgraded in place on start: the runtime role loses DDL, the user survives and logs in', async () => {
    await start();
    await rebuildAsEarlierLayout();
    await server!.stop();
    server = undefined;

    await start(); // the upgrade runs here
    const { appUrl } = state();
    await withClient(appUrl, async (c) => {
      expect(await failure(c, 'CREATE TABLE intruder (id int)')).toBe('42501');
      expect(await failure(c, 'DROP TABLE users')).toBe('42501');
      const owners = await c.query("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'");
      expect(owners.rows.map((r) => r.tableowner)).toEqual(['app_owner']);
      expect((await c.query('SELECT count(*)::int AS n FROM users WHERE username = $1', [username])).rows[0].n).toBe(1);
    });
    await withClient(superuserUrl('app_db'), async (c) => {
      expect((await c.query("SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = 'app_db'")).rows[0].owner).toBe('app_owner');
    });

    // Idempotent: the next start on the upgraded dir changes nothing and loses nothing.
    await server!.stop();
    await start();

    // The real token handler, configured for this server, logs the surviving user in.
    process.env.LOCAL_STATE_DIR = stateDir;
    const { handler: token } = require('../../functions/auth/token') as typeof import('../../functions/auth/token');
    const issued = await invoke(token, { method: 'POST', path: '/token', form: { username, password } });
    expect(issued.status).toBe(200);
    expect(issued.json.token_type).toBe('bearer');
  }, 120_000);
});
