// Helpers for the weather tests: the OpenWeatherMap stand-in, the weather service on a real port, HTTP calls.
import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import { weatherAppOptions } from '../../functions/weather/deps';
import { weatherRoutes } from '../../functions/weather/routes';
import { buildApp } from '../../layers/http/app';
import { startStandIn, type StandIn } from '../../local/services/standin';
import { spawnReady } from './child';

/**
 * Starts the stand-in and points this test file's configuration at it (before the weather service reads its settings),
 * with a service credential of its own that the weather service and the backend's proxy (and child processes) share.
 */
export async function standInForThisFile(): Promise<StandIn> {
  const standIn = await startStandIn({ apiKey: `test-key-${randomInt(1e9)}` });
  process.env.OPENWEATHER_BASE_URL = standIn.url;
  process.env.OPENWEATHER_API_KEY = standIn.apiKey;
  process.env.WEATHER_SERVICE_TOKEN = randomBytes(32).toString('base64url');
  return standIn;
}

/** The header the backend sends to the weather service (see standInForThisFile). */
export const serviceCredential = (): Record<string, string> => ({ 'x-service-token': process.env.WEATHER_SERVICE_TOKEN! });

export interface RunningService {
  url: string;
  close(): Promise<void>;
}

/** The weather service's routes served over real HTTP in this process, on a free port. */
export async function startWeatherService(): Promise<RunningService> {
  const app = await buildApp(weatherRoutes, weatherAppOptions('weather', 'healthCheck'));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** The weather service in a child process of its own: its own pool, its own in-process single-flight. */
export async function startWeatherProcess(env: Record<string, string>): Promise<RunningService> {
  const started = await spawnReady<{ url: string }>(join(__dirname, 'weather-process.ts'), [], env);
  return {
    url: started.ready.url,
    close: async () => {
      await started.stop();
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
export const uniqueCity = (prefix = 'Testville') => `${prefix} ${Array.from({ length: 8 }, () => LETTERS[randomInt(LETTERS.length)]).join('')}`;
