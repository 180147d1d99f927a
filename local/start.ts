// npm start (and npm run dev, with --dev): runs the whole stack in the foreground until Ctrl-C or SIGTERM, then
// stops everything it started. The environment is read here (process wiring) and handed to local/stack.ts as options.
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDotenv } from './dotenv';
import { residentBytes } from './processes';
import {
  DEFAULT_BACKEND_REPLICAS,
  DEFAULT_INSTANCE_MAX_OLD_SPACE_MB,
  DEFAULT_WEATHER_REPLICAS,
  MIN_BACKEND_REPLICAS,
  MIN_INSTANCE_MAX_OLD_SPACE_MB,
  ROOT,
  StackAlreadyRunning,
  startStack,
  type ServiceName,
  type Stack,
  type StackOptions,
} from './stack';

loadDotenv();
const env = process.env;

function integer(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) fail(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return value;
}

const port = (name: string, fallback: number) => integer(name, fallback, 0, 65_535);
const positive = (name: string, fallback: number) => integer(name, fallback, 1);

function fail(message: string): never {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(1);
}

const say = (message: string) => process.stdout.write(`${message}\n`);
const path = (file: string) => relative(process.cwd(), file) || '.';

function table(stack: Stack): string {
  const { urls, pids, logFiles } = stack;
  const log = (name: ServiceName) => (logFiles[name] ? path(logFiles[name]!) : '');
  const row = (name: ServiceName, where: string) => [name, where, String(pids[name] ?? ''), log(name)];
  const rows: string[][] = [
    ['what', 'where', 'pid', 'log'],
    ['API (HAProxy)', urls.api, String(pids.haproxy), log('haproxy')],
    ['API docs', urls.docs, '', ''],
    ['HAProxy stats', `${urls.stats}  (Prometheus: ${urls.metrics})`, '', ''],
    ['weather service', `${urls.weather}  (HAProxy, loopback: the backend's WEATHER_SERVICE_URL)`, '', ''],
    ...urls.backends.map((url, i) => row(`app-backend-${i + 1}`, url)),
    ...urls.weatherInstances.map((url, i) => row(`weather-service-${i + 1}`, url)),
  ];
  if (urls.standIn) rows.push(row('owm-standin', urls.standIn));
  if (urls.postgres) rows.push(row('postgres', `${urls.postgres}  (data ${path(stack.stateDir)}/postgres)`));
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => `  ${r.map((cell, i) => cell.padEnd(widths[i])).join('  ')}`.trimEnd()).join('\n');
}

/** The stack's options from the environment (documented in docs/operations.md). */
function optionsFromEnv(dev: boolean): StackOptions {
  const apiKey = env.OPENWEATHER_API_KEY || undefined;
  return {
    port: port('PORT', 8080),
    statsPort: port('STATS_PORT', 8404),
    weatherPort: port('WEATHER_HTTP_PORT', 4000),
    backendReplicas: integer('BACKEND_REPLICAS', DEFAULT_BACKEND_REPLICAS, MIN_BACKEND_REPLICAS, 16),
    weatherReplicas: integer('WEATHER_REPLICAS', DEFAULT_WEATHER_REPLICAS, 1, 16),
    instanceMaxOldSpaceMb: integer('INSTANCE_MAX_OLD_SPACE_MB', DEFAULT_INSTANCE_MAX_OLD_SPACE_MB, MIN_INSTANCE_MAX_OLD_SPACE_MB, 65_536),
    address: env.HAPROXY_ADDRESS || undefined,
    databaseUrl: env.DATABASE_URL || undefined,
    weatherDatabaseUrl: env.WEATHER_DATABASE_URL || undefined,
    openWeatherApiKey: apiKey,
    openWeatherBaseUrl: apiKey ? env.OPENWEATHER_BASE_URL || undefined : undefined,
    rateLimit: { requests: positive('RATE_LIMIT_AUTH_REQUESTS', 20), windowSeconds: positive('RATE_LIMIT_AUTH_WINDOW_SECONDS', 10) },
    maxBodyBytes: positive('MAX_BODY_BYTES', 65_536),
    stateDir: env.LOCAL_STATE_DIR || undefined,
    dev,
  };
}

/** Stops the stack on SIGINT/SIGTERM/SIGHUP, or when the runner's parent (npm) goes away. */
function stopOnSignals(controller: AbortController, current: () => Stack | undefined): () => boolean {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return; // npm forwards the terminal's Ctrl-C a second time
    stopping = true;
    say(`\n${signal}: stopping everything`);
    const stack = current();
    if (!stack) return controller.abort();
    stack.stop().then(
      () => {
        say('stopped');
        process.exit(0);
      },
      (err: Error) => fail(`stop failed: ${err.message}`),
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  // `kill <npm's pid>` ends npm and its shell without passing the signal on: a runner whose parent went away stops too.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && onSignal('SIGHUP'), 1000).unref();
  return () => stopping;
}

async function main() {
  const { values } = parseArgs({ options: { dev: { type: 'boolean', default: false } } });
  const controller = new AbortController();
  let stack: Stack | undefined;
  const stopping = stopOnSignals(controller, () => stack);
  try {
    stack = await startStack({ ...optionsFromEnv(values.dev), signal: controller.signal, onProgress: (message) => say(`  ${message}`) });
  } catch (err) {
    if (err instanceof StackAlreadyRunning) fail(err.message);
    if (stopping()) {
      say('stopped');
      process.exit(0);
    }
    fail((err as Error).message);
  }
  if (stopping()) {
    await stack.stop();
    process.exit(0);
  }
  stack.onUnexpectedExit((name, description) => {
    process.stderr.write(`warning: ${name} ${description}; see ${path(stack!.logFiles[name] ?? ROOT)} (HAProxy routes around a dead instance)\n`);
  });
  const mb = Math.round(residentBytes(Object.values(stack.pids) as number[]) / 1_048_576);
  say(`\nup and healthy in ${(stack.startupMs / 1000).toFixed(1)} s (${mb} MB resident)\n\n${table(stack)}\n`);
  if (values.dev) say('dev mode: edits under functions/ and layers/ are rebuilt and served by the next request (Postgres and HAProxy keep running).');
  say(`try: curl -s ${stack.urls.api}/health-check`);
  say(`Ctrl-C (or \`kill ${process.pid}\`) stops everything.`);
}

void main();
