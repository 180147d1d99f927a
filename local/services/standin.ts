// A local stand-in for the OpenWeatherMap current-weather API: a real HTTP server speaking the same shape,
// with switchable failures and latency, so the weather service can run and be tested without a real key; and the
// stack's spec of it (a child running local/bin/owm-standin.ts, which prints {"ready":true,"url":...} when listening).
// Rules: the key must equal --api-key (else 401); names starting with "Atlantis" or "Nowhere" are unknown
// (404); any other city gets a realistic body whose values are derived from its name (same name, same body).
// Control over HTTP: GET /__standin/stats, POST /__standin/mode (JSON, see StandInMode), POST /__standin/reset.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { cityKey } from '../../layers/city-names';
import { ROOT } from '../paths';
import { parseReadyLine } from '../processes';
import type { ServiceSpec } from '../supervisor';

/** The key the stand-in accepts when none is given (it guards nothing; it only lets the 401 path be exercised). */
export const DEFAULT_STANDIN_KEY = 'local-standin-key';
const UNKNOWN_CITY = /^(atlantis|nowhere)/i;

export interface StandInMode {
  /** Answer every weather request with this upstream error. */
  status?: 429 | 500 | 503;
  /** Answer 200 with a body that is not valid JSON. */
  garbage?: boolean;
  /** Wait this long before answering. */
  latencyMs?: number;
  /** Drop every weather request's connection without an answer. */
  down?: boolean;
}

export interface StandInStats {
  calls: number;
  /** Calls per normalised city name (trimmed, lower-cased, inner spaces collapsed). */
  byCity: Record<string, number>;
}

export interface StandIn {
  url: string;
  apiKey: string;
  /** Weather requests received (every one, failed ones included), for one city or in all. */
  calls(city?: string): number;
  /** Forgets the counts and returns to normal mode. */
  reset(): void;
  /** Replaces the whole mode: setMode({}) is normal behaviour. */
  setMode(mode: StandInMode): void;
  stop(): Promise<void>;
}

export interface StandInOptions {
  port?: number;
  host?: string;
  apiKey?: string;
}

// The provider's own matching of names is emulated with the weather service's normaliser (one copy of the rule).
const normalise = cityKey;

const KNOWN_COUNTRIES: Record<string, string> = {
  london: 'GB',
  paris: 'FR',
  berlin: 'DE',
  москва: 'RU',
  moscow: 'RU',
  'são paulo': 'BR',
  zürich: 'CH',
  zurich: 'CH',
  tokyo: 'JP',
  'new york': 'US',
  madrid: 'ES',
  rome: 'IT',
  kraków: 'PL',
  東京: 'JP',
};
const COUNTRIES = ['GB', 'FR', 'DE', 'US', 'BR', 'JP', 'IN', 'CA', 'AU', 'ZA', 'MX', 'NO'];
const CONDITIONS = [
  { id: 800, main: 'Clear', description: 'clear sky', icon: '01d' },
  { id: 801, main: 'Clouds', description: 'few clouds', icon: '02d' },
  { id: 803, main: 'Clouds', description: 'broken clouds', icon: '04d' },
  { id: 500, main: 'Rain', description: 'light rain', icon: '10d' },
  { id: 701, main: 'Mist', description: 'mist', icon: '50d' },
  { id: 600, main: 'Snow', description: 'light snow', icon: '13d' },
];

const round = (value: number, digits: number) => Number(value.toFixed(digits));
const titleCase = (name: string) => name.replace(/(^|[\s\-'.])(\p{L})/gu, (_, sep: string, letter: string) => sep + letter.toUpperCase());

/** The OpenWeatherMap body for a city: every value is derived from the name, so it is the same on every call. */
export function weatherBody(q: string, units: string, now = Date.now()) {
  const [rawName, rawCountry] = normalise(q).split(',');
  const bytes = createHash('sha256').update(rawName).digest();
  const unit = (i: number) => bytes.readUInt16BE(i * 2) / 0xffff; // 0..1, one per derived value
  const country = rawCountry?.toUpperCase() ?? KNOWN_COUNTRIES[rawName] ?? COUNTRIES[bytes[0] % COUNTRIES.length];
  const lat = round(unit(0) * 140 - 70, 4);
  const lon = round(unit(1) * 360 - 180, 4);
  const tempC = unit(2) * 40 - 10;
  const toUnits = (c: number) => round(units === 'metric' ? c : units === 'imperial' ? (c * 9) / 5 + 32 : c + 273.15, 2);
  const windMs = unit(3) * 12;
  const dt = Math.floor(now / 600_000) * 600; // observations change every ten minutes, like the real feed
  const sunrise = dt - 6 * 3600 + Math.round(unit(4) * 3600);
  return {
    coord: { lon, lat },
    weather: [CONDITIONS[bytes[1] % CONDITIONS.length]],
    base: 'stations',
    main: {
      temp: toUnits(tempC),
      feels_like: toUnits(tempC - windMs / 3),
      temp_min: toUnits(tempC - 1.5),
      temp_max: toUnits(tempC + 1.5),
      pressure: 990 + Math.round(unit(5) * 45),
      humidity: 20 + Math.round(unit(6) * 79),
      sea_level: 990 + Math.round(unit(5) * 45),
      grnd_level: 980 + Math.round(unit(5) * 45),
    },
    visibility: 10000,
    wind: { speed: units === 'imperial' ? round(windMs * 2.23694, 2) : round(windMs, 2), deg: Math.round(unit(7) * 359) },
    clouds: { all: Math.round(unit(8) * 100) },
    dt,
    sys: { type: 2, id: 2_000_000 + bytes.readUInt16BE(18), country, sunrise, sunset: sunrise + 12 * 3600 },
    timezone: Math.round(lon / 15) * 3600,
    id: (bytes.readUInt32BE(20) % 9_000_000) + 100_000,
    name: titleCase(rawName),
    cod: 200,
  };
}

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json; charset=utf-8') {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 10_000) throw new Error('body too large');
  }
  return text ? JSON.parse(text) : {};
}

function parseMode(input: unknown): StandInMode | string {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return 'the mode must be a JSON object';
  const { status, garbage, latencyMs, down, ...rest } = input as Record<string, unknown>;
  if (Object.keys(rest).length) return `unknown mode fields: ${Object.keys(rest).join(', ')}`;
  if (status !== undefined && status !== 429 && status !== 500 && status !== 503) return 'status must be 429, 500 or 503';
  if (garbage !== undefined && typeof garbage !== 'boolean') return 'garbage must be a boolean';
  if (down !== undefined && typeof down !== 'boolean') return 'down must be a boolean';
  if (latencyMs !== undefined && !(Number.isInteger(latencyMs) && (latencyMs as number) >= 0 && (latencyMs as number) <= 60_000)) {
    return 'latencyMs must be an integer between 0 and 60000';
  }
  return { status, garbage, latencyMs, down } as StandInMode;
}

const UPSTREAM_ERRORS: Record<number, unknown> = {
  429: {
    cod: 429,
    message:
      'Your account is temporary blocked due to exceeding of requests limitation of your subscription type. Please choose the proper subscription https://openweathermap.org/price',
  },
  500: { cod: '500', message: 'Internal server error' },
  503: { cod: '503', message: 'Service temporarily unavailable' },
};

/** What the stand-in keeps between requests: its failure mode, the calls per city, the pending delays. */
class StandInState {
  mode: StandInMode = {};
  byCity = new Map<string, number>();
  private readonly pending = new Set<NodeJS.Timeout>();

  constructor(readonly apiKey: string) {}

  delay(ms: number): Promise<void> {
    return new Promise<void>((resolveDelay) => {
      const timer = setTimeout(() => {
        this.pending.delete(timer);
        resolveDelay();
      }, ms);
      this.pending.add(timer);
    });
  }

  stats(): StandInStats {
    return { calls: [...this.byCity.values()].reduce((a, b) => a + b, 0), byCity: Object.fromEntries(this.byCity) };
  }

  reset(): void {
    this.byCity = new Map();
    this.mode = {};
  }

  /** Sets the mode; a problem with it comes back as text. */
  setMode(next: unknown): string | undefined {
    const parsed = parseMode(next);
    if (typeof parsed === 'string') return parsed;
    this.mode = parsed;
    return undefined;
  }

  clearDelays(): void {
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }
}

/** GET /data/2.5/weather, as OpenWeatherMap answers it (its errors included), in the current mode. */
async function answerWeather(state: StandInState, req: IncomingMessage, res: ServerResponse, params: URLSearchParams) {
  const q = params.get('q') ?? '';
  const city = normalise(q);
  state.byCity.set(city, (state.byCity.get(city) ?? 0) + 1);
  const current = state.mode;
  if (current.down) {
    req.socket.destroy();
    return;
  }
  if (current.latencyMs) await state.delay(current.latencyMs);
  if (res.destroyed) return;
  if (params.get('appid') !== state.apiKey) {
    return send(res, 401, { cod: 401, message: 'Invalid API key. Please see https://openweathermap.org/faq#error401 for more info.' });
  }
  if (current.status) return send(res, current.status, UPSTREAM_ERRORS[current.status]);
  if (!city) return send(res, 400, { cod: '400', message: 'Nothing to geocode' });
  if (UNKNOWN_CITY.test(city)) return send(res, 404, { cod: '404', message: 'city not found' });
  if (current.garbage) return send(res, 200, '{"coord":{"lon":-0.1257,"lat":51.5085},"weather":[{"id":80');
  return send(res, 200, weatherBody(q, params.get('units') ?? 'standard'));
}

/** The test controls under /__standin/: stats, reset, mode. */
async function answerControl(state: StandInState, req: IncomingMessage, res: ServerResponse, path: string) {
  if (req.method === 'GET' && path === '/__standin/stats') return send(res, 200, state.stats());
  if (req.method === 'POST' && path === '/__standin/reset') {
    state.reset();
    return send(res, 200, state.stats());
  }
  if (req.method === 'POST' && path === '/__standin/mode') {
    let problem: string | undefined;
    try {
      problem = state.setMode(await readJson(req));
    } catch {
      problem = 'the body must be JSON';
    }
    return problem ? send(res, 400, { error: problem }) : send(res, 200, { mode: state.mode });
  }
  return send(res, 404, { error: `no control endpoint ${req.method} ${path}` });
}

function answer(state: StandInState, req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const url = new URL(req.url ?? '/', 'http://standin');
  if (url.pathname === '/data/2.5/weather' && req.method === 'GET') return answerWeather(state, req, res, url.searchParams);
  if (url.pathname.startsWith('/__standin/')) return answerControl(state, req, res, url.pathname);
  return Promise.resolve(send(res, 404, { cod: '404', message: 'Internal error: the stand-in serves only /data/2.5/weather' }));
}

export async function startStandIn(options: StandInOptions = {}): Promise<StandIn> {
  const state = new StandInState(options.apiKey || DEFAULT_STANDIN_KEY);
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => void answer(state, req, res).catch(() => res.destroy()));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;

  return {
    url: `http://${address}:${port}`,
    apiKey: state.apiKey,
    calls: (city) => (city === undefined ? state.stats().calls : (state.byCity.get(normalise(city)) ?? 0)),
    reset: () => state.reset(),
    setMode(next) {
      const problem = state.setMode(next);
      if (problem) throw new Error(problem);
    },
    async stop() {
      state.clearDelays();
      const closed = once(server, 'close');
      server.close();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** The stack's stand-in on `port`; its key travels in the environment, not on the command line (ps, the pid file). */
export function standInService(p: { port: number; apiKey: string; env: NodeJS.ProcessEnv }): ServiceSpec {
  return {
    name: 'owm-standin',
    group: 'owm-standin',
    command: process.execPath,
    args: ['--import', 'tsx', join(ROOT, 'local', 'bin', 'owm-standin.ts'), '--port', String(p.port)],
    env: { ...p.env, OPENWEATHER_API_KEY: p.apiKey },
    cwd: ROOT,
    logs: 'plain',
    ready: (proc) => proc.waitForLine((line) => parseReadyLine(line)),
    stop: { signal: 'SIGTERM', graceMs: 3000 },
  };
}
