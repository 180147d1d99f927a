// Private databases for one test file, on the run's embedded Postgres: other files insert users and cache cities
// at the same time, so counting rows is only exact, and the shared cache only untouched, on databases nobody else uses.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { localStateDir, readEmbeddedState, type EmbeddedPostgresState } from '../../layers/local-runtime/state';
import { migrateDatabase } from '../../local/services/migrations';

export interface ScratchDatabase {
  /** connection string as app_user, migrated */
  url: string;
  drop(): Promise<void>;
}

const secrets = () => JSON.parse(readFileSync(join(localStateDir(), 'postgres-secrets.json'), 'utf8')) as Record<string, string>;

async function asSuperuser<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const state = readEmbeddedState();
  if (!state) throw new Error('the embedded Postgres of the test run is not running');
  const { superuser } = secrets();
  const client = new pg.Client({ host: '127.0.0.1', port: state.port, user: 'postgres', password: superuser, database: 'postgres' });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const KINDS = {
  app: { owner: 'app_owner', role: 'app_user', migrations: 'layers/db/migrations/app', url: (s: EmbeddedPostgresState) => s.appUrl },
  weather: { owner: 'weather_owner', role: 'weather_user', migrations: 'layers/db/migrations/weather', url: (s: EmbeddedPostgresState) => s.weatherUrl },
} as const;

/** Creates a fresh app_db- or weather_db-shaped database, laid out as the real one: migrated by its owner, DML for its role. */
export async function createScratchDatabase(kind: keyof typeof KINDS): Promise<ScratchDatabase> {
  const { owner, role, migrations, url: urlOf } = KINDS[kind];
  const name = `${kind}_scratch_${randomBytes(4).toString('hex')}`;
  await asSuperuser(async (c) => {
    await c.query(`CREATE DATABASE ${name} OWNER ${owner}`);
    await c.query(`REVOKE ALL ON DATABASE ${name} FROM PUBLIC`);
  });
  const url = urlOf(readEmbeddedState()!).replace(/\/[^/]+$/, `/${name}`);
  const ownerUrl = new URL(url);
  ownerUrl.username = owner;
  ownerUrl.password = encodeURIComponent(secrets()[owner]);
  await migrateDatabase({ ownerUrl: ownerUrl.toString(), dir: migrations, runtimeRole: role });
  return {
    url,
    drop: () => asSuperuser((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
