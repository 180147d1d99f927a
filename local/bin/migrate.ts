// npm run migrate: applies the pending migrations of each database as its owner role, then grants the runtime role
// DML only (local/services/migrations.ts). A deploy step; the local runner does it for you.
//
//   npm run migrate [-- --app OWNER_URL] [--weather OWNER_URL] [--app-role app_user] [--weather-role weather_user]
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDotenv } from '../dotenv';
import { DEFAULT_STATE_DIR } from '../paths';
import { DATABASES, embeddedOwnerUrls, migrateDatabase } from '../services/migrations';
import { RUNNER_SETTINGS } from '../settings';

const USAGE = 'usage: npm run migrate [-- --app OWNER_URL] [--weather OWNER_URL] [--app-role ROLE] [--weather-role ROLE]';

async function main(): Promise<void> {
  loadDotenv();
  const { values } = parseArgs({
    options: {
      app: { type: 'string' },
      weather: { type: 'string' },
      'app-role': { type: 'string', default: 'app_user' },
      'weather-role': { type: 'string', default: 'weather_user' },
    },
  });
  const settings = RUNNER_SETTINGS.read(process.env);
  let urls: Partial<Record<'app' | 'weather', string>> = {
    app: values.app ?? (settings.migrateDatabaseUrl || undefined),
    weather: values.weather ?? (settings.migrateWeatherDatabaseUrl || undefined),
  };
  if (!urls.app && !urls.weather) {
    urls = embeddedOwnerUrls(resolve(settings.localStateDir || DEFAULT_STATE_DIR)) ?? {};
    if (!urls.app)
      throw new Error('set MIGRATE_DATABASE_URL and/or MIGRATE_WEATHER_DATABASE_URL (or --app / --weather) to an owner URL, or start the embedded Postgres');
  }
  const roles = { app: values['app-role'], weather: values['weather-role'] };
  for (const db of DATABASES) {
    const ownerUrl = urls[db.option];
    if (!ownerUrl) continue;
    await migrateDatabase({ ownerUrl, dir: db.migrations, runtimeRole: roles[db.option] });
    process.stdout.write(`${db.option}: migrated ${db.migrations}, runtime role ${roles[db.option]} granted DML only\n`);
  }
}

main().catch((err: Error & { code?: string }) => {
  const usage = err.code?.startsWith('ERR_PARSE_ARGS') ? `\n${USAGE}` : '';
  process.stderr.write(`npm run migrate: ${err.message}${usage}\n`);
  process.exit(1);
});
