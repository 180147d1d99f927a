// Starts the real stack (local/stack.ts) for a test file: free ports, its own state and log dirs, and by
// default the run's embedded Postgres as an "external" database (pass embeddedPostgres to start its own).
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settings } from '../../functions/deps';
import { settings as weatherSettings } from '../../functions/weather/deps';
import { startStack, type Stack, type StackOptions } from '../../local/stack';

export interface TestStack extends Stack {
  logDir: string;
  /** The JSON lines a service has written to its log so far; a group name (weather-service) reads all its replicas. */
  logLines(name: string): Record<string, any>[];
}

let count = 0;

/**
 * A stack of the test's own. `env` holds its settings as the environment would (WEATHER_REPLICAS, RATE_LIMIT_AUTH_*,
 * BCRYPT_COST …): on free ports, with the run's Postgres unless `embeddedPostgres`.
 */
export async function startTestStack(options: Omit<StackOptions, 'stateDir' | 'logDir'> & { embeddedPostgres?: boolean } = {}): Promise<TestStack> {
  const { embeddedPostgres, env, ...stackOptions } = options;
  const dir = mkdtempSync(join(tmpdir(), 'stack-test-'));
  chmodSync(dir, 0o755); // as root, the embedded Postgres runs as the postgres user and must reach its data dir
  const logDir = join(dir, 'logs');
  const stack = await startStack({
    stateDir: join(dir, 'state'),
    logDir,
    tag: `test-${process.pid}-${++count}`,
    readyTimeoutMs: 240_000,
    ...stackOptions,
    env: {
      PORT: '0',
      STATS_PORT: '0',
      WEATHER_HTTP_PORT: '0',
      ...(embeddedPostgres ? {} : { DATABASE_URL: settings().databaseUrl, WEATHER_DATABASE_URL: weatherSettings().weatherDatabaseUrl }),
      ...env,
    },
  }).catch((err) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  let removed = false;
  return {
    ...stack,
    logDir,
    logLines(name) {
      if (!existsSync(logDir)) return [];
      const replica = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d+\\.log$`);
      return readdirSync(logDir)
        .filter((file) => file === `${name}.log` || replica.test(file))
        .flatMap((file) => readFileSync(join(logDir, file), 'utf8').split('\n'))
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, any>);
    },
    async stop() {
      await stack.stop();
      if (!removed) rmSync(dir, { recursive: true, force: true });
      removed = true;
    },
  };
}

/** Polls until check() returns a value, or fails after timeoutMs. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A new account through the stack's API (POST /register, then POST /token with a form), as a client makes one. */
export async function registerThroughApi(api: string, prefix: string): Promise<{ id: string; username: string; password: string; token: string }> {
  const username = `${prefix}_${randomBytes(5).toString('hex')}`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const created = await fetch(`${api}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as { id: string };
  const issued = await fetch(`${api}/token`, { method: 'POST', body: new URLSearchParams({ username, password }) });
  expect(issued.status).toBe(200);
  return { id, username, password, token: ((await issued.json()) as { access_token: string }).access_token };
}
