// npm start: runs the whole stack in the foreground until Ctrl-C or SIGTERM, then stops everything it started.
// The environment is read here (process wiring) and handed to local/stack.ts as options.
import { relative } from 'node:path';
import { loadDotenv } from './dotenv';
import { residentBytes } from './processes';
import { ROOT, StackAlreadyRunning, startStack, type Stack } from './stack';

loadDotenv();
const env = process.env;

function port(name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65_535) fail(`${name} must be a port number (0-65535), got "${raw}"`);
  return value;
}

function positive(name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) fail(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

function fail(message: string): never {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(1);
}

const say = (message: string) => process.stdout.write(`${message}\n`);
const path = (file: string) => relative(process.cwd(), file) || '.';

function table(stack: Stack): string {
  const { urls, pids, logFiles } = stack;
  const log = (name: keyof typeof logFiles) => (logFiles[name] ? path(logFiles[name]!) : '');
  const rows: string[][] = [
    ['what', 'where', 'pid', 'log'],
    ['API (HAProxy)', urls.api, String(pids.haproxy), log('haproxy')],
    ['API docs', urls.docs, '', ''],
    ['HAProxy stats', `${urls.stats}  (Prometheus: ${urls.metrics})`, '', ''],
    ['app-backend-1', urls.backends[0], String(pids['app-backend-1']), log('app-backend-1')],
    ['app-backend-2', urls.backends[1], String(pids['app-backend-2']), log('app-backend-2')],
    ['weather-service', urls.weather, String(pids['weather-service']), log('weather-service')],
  ];
  if (urls.standIn) rows.push(['owm-standin', urls.standIn, String(pids['owm-standin']), log('owm-standin')]);
  if (urls.postgres) rows.push(['postgres', `${urls.postgres}  (data ${path(stack.stateDir)}/postgres)`, String(pids.postgres), log('postgres')]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => `  ${r.map((cell, i) => cell.padEnd(widths[i])).join('  ')}`.trimEnd()).join('\n');
}

async function main() {
  const controller = new AbortController();
  let stack: Stack | undefined;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return; // npm forwards the terminal's Ctrl-C a second time
    stopping = true;
    say(`\n${signal}: stopping everything`);
    if (!stack) {
      controller.abort();
      return;
    }
    stack.stop().then(
      () => {
        say('stopped');
        process.exit(0);
      },
      (err: Error) => fail(`stop failed: ${err.message}`),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // `kill <npm's pid>` ends npm and its shell without passing the signal on: a runner whose parent went away stops too.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && onSignal('SIGHUP'), 1000).unref();

  const apiKey = env.OPENWEATHER_API_KEY || undefined;
  try {
    stack = await startStack({
      port: port('PORT', 8080),
      statsPort: port('STATS_PORT', 8404),
      weatherPort: port('WEATHER_HTTP_PORT', 4000),
      address: env.HAPROXY_ADDRESS || undefined,
      databaseUrl: env.DATABASE_URL || undefined,
      weatherDatabaseUrl: env.WEATHER_DATABASE_URL || undefined,
      openWeatherApiKey: apiKey,
      openWeatherBaseUrl: apiKey ? env.OPENWEATHER_BASE_URL || undefined : undefined,
      rateLimit: { requests: positive('RATE_LIMIT_AUTH_REQUESTS', 20), windowSeconds: positive('RATE_LIMIT_AUTH_WINDOW_SECONDS', 10) },
      maxBodyBytes: positive('MAX_BODY_BYTES', 65_536),
      stateDir: env.LOCAL_STATE_DIR || undefined,
      signal: controller.signal,
      onProgress: (message) => say(`  ${message}`),
    });
  } catch (err) {
    if (err instanceof StackAlreadyRunning) fail(err.message);
    if (stopping) {
      say('stopped');
      process.exit(0);
    }
    fail((err as Error).message);
  }
  if (stopping) {
    await stack.stop();
    process.exit(0);
  }
  stack.onUnexpectedExit((name, description) => {
    process.stderr.write(`warning: ${name} ${description}; see ${path(stack!.logFiles[name] ?? ROOT)} (HAProxy routes around a dead backend instance)\n`);
  });
  const mb = Math.round(residentBytes(Object.values(stack.pids) as number[]) / 1_048_576);
  say(`\nup and healthy in ${(stack.startupMs / 1000).toFixed(1)} s (${mb} MB resident)\n\n${table(stack)}\n`);
  say(`try: curl -s ${stack.urls.api}/health-check`);
  say(`Ctrl-C (or \`kill ${process.pid}\`) stops everything.`);
}

void main();
