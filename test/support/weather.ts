// Helpers for the weather tests: the OpenWeatherMap stand-in, the weather service on a real port, HTTP calls.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { randomInt } from 'node:crypto';
import { weatherRoutes } from '../../functions/weather/routes';
import { buildApp } from '../../layers/http/route';
import { startStandIn, type StandIn } from '../../local/owm-standin';
import { ROOT, TSX } from './embedded-postgres';

/** Starts the stand-in and points this test file's configuration at it (before anything reads config()). */
export async function standInForThisFile(): Promise<StandIn> {
  const standIn = await startStandIn({ apiKey: `test-key-${randomInt(1e9)}` });
  process.env.OPENWEATHER_BASE_URL = standIn.url;
  process.env.OPENWEATHER_API_KEY = standIn.apiKey;
  return standIn;
}

export interface RunningService {
  url: string;
  close(): Promise<void>;
}

/** The weather service's routes served over real HTTP in this process, on a free port. */
export async function startWeatherService(): Promise<RunningService> {
  const app = await buildApp(weatherRoutes);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** The weather service in a child process of its own: its own pool, its own in-process single-flight. */
export async function startWeatherProcess(env: Record<string, string>): Promise<RunningService & { child: ChildProcess }> {
  const child = spawn(TSX, [join(__dirname, 'weather-process.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = await Promise.race([
    new Promise<{ url: string }>((resolveReady) => {
      lines.on('line', (line) => {
        if (line.includes('"ready":true')) resolveReady(JSON.parse(line));
      });
    }),
    once(child, 'exit').then(([code]) => {
      throw new Error(`weather process exited with ${code}: ${stderr}`);
    }),
  ]);
  return {
    child,
    url: ready.url,
    async close() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface HttpResult {
  status: number;
  headers: Headers;
  json: any;
}

export async function httpGet(url: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json };
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
/** A city name no other test uses (the cache database is shared by the whole run). */
export const uniqueCity = (prefix = 'Testville') =>
  `${prefix} ${Array.from({ length: 8 }, () => LETTERS[randomInt(LETTERS.length)]).join('')}`;
