// Runs a stack in the foreground until Ctrl-C, SIGTERM or the loss of its parent (npm), then stops everything it
// started; prints what runs where once it is healthy. The body of `npm start` and `npm run dev` (local/bin/start.ts).
import { relative } from 'node:path';
import { residentBytes } from './processes';
import { ROOT } from './paths';
import { StackAlreadyRunning, startStack, type ServiceName, type Stack } from './stack';

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
    [
      'HAProxy stats',
      `${urls.stats}  (Prometheus: ${urls.metrics}; login ${stack.statsLogin.user}, password in ${path(stack.stateDir)}/stats-password)`,
      '',
      '',
    ],
    ['weather service', `${urls.weather}  (HAProxy, loopback: the backend's WEATHER_SERVICE_URL)`, '', ''],
    ...urls.backends.map((url, i) => row(`app-backend-${i + 1}`, url)),
    ...urls.weatherInstances.map((url, i) => row(`weather-service-${i + 1}`, url)),
  ];
  if (urls.standIn) rows.push(row('owm-standin', urls.standIn));
  if (urls.postgres) rows.push(row('postgres', `${urls.postgres}  (data ${path(stack.stateDir)}/postgres)`));
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => `  ${r.map((cell, i) => cell.padEnd(widths[i])).join('  ')}`.trimEnd()).join('\n');
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

/** Starts the stack (dev: with reload on change) and keeps it running until it is told to stop. */
export async function runInForeground(dev: boolean): Promise<void> {
  const controller = new AbortController();
  let stack: Stack | undefined;
  const stopping = stopOnSignals(controller, () => stack);
  try {
    stack = await startStack({ dev, signal: controller.signal, onProgress: (message) => say(`  ${message}`) });
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
  if (dev) say('dev mode: edits under functions/ and layers/ are rebuilt and served by the next request (Postgres and HAProxy keep running).');
  say(`try: curl -s ${stack.urls.api}/health-check`);
  say(`Ctrl-C (or \`kill ${process.pid}\`) stops everything.`);
}
