// npm run dashboard: the Grafana dashboard's panels computed from local/logs and shown in the terminal,
// for machines without a container engine.
//
//   npm run dashboard -- [--since 15m|1h|2d] [--watch] [--interval 5s] [--logs DIR] [--service NAME]...
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration, summarize } from '../observability/aggregate';
import { LogDirectory } from '../observability/log-reader';
import { renderSummary } from '../observability/terminal';

const USAGE = `Usage: npm run dashboard -- [options]

  --since DURATION   how far back to count: 90s, 15m, 1h, 2d, 1w (default 1h)
  --watch            redraw every few seconds until Ctrl-C
  --interval DURATION  how often --watch redraws (default 5s)
  --logs DIR         where the *.log files are (default local/logs)
  --service NAME     count only this service's events (repeatable), like the dashboard's service variable
  --help             show this text`;

interface Options {
  since: number;
  sinceText: string;
  watch: boolean;
  interval: number;
  logs: string;
  services: string[];
}

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function readOptions(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        since: { type: 'string', default: '1h' },
        watch: { type: 'boolean', default: false },
        interval: { type: 'string', default: '5s' },
        logs: { type: 'string', default: resolve(__dirname, 'logs') },
        service: { type: 'string', multiple: true, default: [] },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    fail((err as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const since = parseDuration(values.since);
  if (since === undefined) fail(`--since must be a number with a unit (s, m, h, d, w), e.g. 15m; got "${values.since}"`);
  const interval = parseDuration(values.interval);
  if (interval === undefined) fail(`--interval must be a number with a unit, e.g. 5s; got "${values.interval}"`);
  return { since, sinceText: values.since, watch: values.watch, interval, logs: resolve(values.logs), services: values.service };
}

async function frame(directory: LogDirectory, options: Options, footer?: string): Promise<string> {
  try {
    await directory.poll();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return `No log directory at ${options.logs} yet: start the stack with \`npm start\`, or point --logs at one.\n`;
  }
  const to = Date.now();
  const from = to - options.since;
  if (options.watch) directory.prune(from);
  const summary = summarize(directory.records(), { from, to }, { services: options.services });
  return renderSummary(summary, {
    width: process.stdout.columns || 100,
    source: options.logs,
    range: options.sinceText,
    services: options.services,
    footer,
  });
}

async function main() {
  const options = readOptions(process.argv.slice(2));
  const directory = new LogDirectory(options.logs);
  if (!options.watch) {
    const text = await frame(directory, options);
    process.stdout.write(text);
    if (text.startsWith('No log directory')) process.exitCode = 1;
    return;
  }

  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const stop = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    if (process.stdout.isTTY) process.stdout.write('\x1b[?25h');
    process.stdout.write('\nstopped\n');
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const footer = `refreshing every ${Math.round(options.interval / 1000)}s — Ctrl-C to quit`;
  const draw = async () => {
    const text = await frame(directory, options, footer);
    if (stopped) return;
    // A TTY gets the frame redrawn in place (cursor hidden meanwhile); a pipe gets one frame after another.
    process.stdout.write(process.stdout.isTTY ? `\x1b[?25l\x1b[H\x1b[2J${text}` : `${text}\n`);
    timer = setTimeout(() => void draw().catch(crash), options.interval);
  };
  await draw();
}

function crash(err: unknown) {
  process.stderr.write(`dashboard: ${(err as Error).message}\n`);
  process.exit(1);
}

main().catch(crash);
