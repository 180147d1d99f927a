// Warm-up before "healthy": a fresh Node process runs its request path slowly until V8 has seen it often enough to
// compile it (Node 20 keeps no compile cache between starts; its compiler threads compete with the load on 2 cores).
// Measured on cached weather, 32 connections, the first 8 s after healthy: 292 and 386 req/s, p99 362 and 225 ms
// without; 394 and 388 req/s, p99 225 and 269 ms with 1,500 requests per instance; ~600 req/s, p99 ~170 ms warm
// (docs/benchmarks.md). So the runner sends each instance WARM_UP_REQUESTS requests of its own before it reports
// healthy, and again after a restart before HAProxy gives the instance its traffic back.
//
// They go to each instance's own port with what HAProxy adds (the edge proof, the client address), not through the
// edge: its per-address limit would count them against 127.0.0.1, the address every local client shares. They write
// nothing a user owns: health checks, a user lookup for a token of an id no account has (401 after the database
// read), an unknown path (404), and the weather service's hit path for London as the backend calls it (its service
// token, a caller id of zeros): at most one provider call per start, none while London is fresh in the cache.
import { randomUUID } from 'node:crypto';
import { accessTokens } from '../layers/auth/tokens';
import { EDGE_PROOF_HEADER } from './services/functions';

export interface WarmUpTarget {
  /** The instance's own HTTP URL. */
  url: string;
  kind: 'app-backend' | 'weather-service';
}

export interface WarmUpOptions {
  /** Requests per instance (0: none). */
  requests: number;
  edgeProof: string;
  /** The backend's JWT key and issuer, to sign a token of an id that no account has. */
  jwt: { secret: string; issuer: string };
  /** The backend's credential to the weather service (WEATHER_SERVICE_TOKEN). */
  serviceToken: string;
  /** Requests in flight per instance. */
  concurrency?: number;
  /** Aborting it stops the warm-up after the requests in flight. */
  signal?: AbortSignal;
}

/** The caller the weather service's quotas charge the warm-up's one lookup to. */
const WARM_UP_CALLER = '00000000-0000-4000-8000-000000000000';

/** The paths each kind of instance is warmed with, taken in turn. */
function warmUpRequests(kind: WarmUpTarget['kind'], bearer: string, serviceToken: string): { path: string; headers: Record<string, string> }[] {
  const authorized = { authorization: `Bearer ${bearer}` };
  if (kind === 'weather-service') {
    const backend = { 'x-service-token': serviceToken, 'x-weather-caller-user': WARM_UP_CALLER, 'x-weather-caller-address': '127.0.0.1' };
    return [
      { path: '/health-check', headers: {} },
      { path: '/weather/London', headers: backend },
      { path: '/weather/London', headers: backend },
      { path: '/warm-up-not-a-route', headers: {} },
    ];
  }
  return [
    { path: '/health-check', headers: {} },
    { path: `/user/${randomUUID()}`, headers: authorized },
    { path: '/weather/London', headers: authorized },
    { path: '/warm-up-not-a-route', headers: {} },
  ];
}

export interface WarmUpReport {
  instances: number;
  requestsPerInstance: number;
  /** Answers by HTTP status, over every instance. */
  statuses: Record<number, number>;
  ms: number;
}

/** Sends the warm-up requests to every instance at once; resolves with the answers per status (for the progress line). */
export async function warmUp(targets: WarmUpTarget[], options: WarmUpOptions): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  if (options.requests <= 0) return statuses;
  const tokens = accessTokens(() => ({ ...options.jwt, ttlSeconds: 300 }));
  const bearer = tokens.issue(randomUUID()).access_token;
  const concurrency = options.concurrency ?? 4;
  await Promise.all(
    targets.map(async (target) => {
      const requests = warmUpRequests(target.kind, bearer, options.serviceToken);
      let next = 0;
      const send = async () => {
        const { path, headers } = requests[next++ % requests.length];
        // What HAProxy adds to every request: the proof, and the client's address (the runner's own).
        const edge = { [EDGE_PROOF_HEADER]: options.edgeProof, 'x-forwarded-for': '127.0.0.1' };
        const res = await fetch(`${target.url}${path}`, { headers: { ...headers, ...edge } });
        await res.arrayBuffer();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      };
      // Each path once, one after the other (the first London lookup, the first database connection), then the rest.
      while (next < Math.min(requests.length, options.requests)) await send();
      const worker = async () => {
        while (next < options.requests && !options.signal?.aborted) await send();
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
    }),
  );
  return statuses;
}
