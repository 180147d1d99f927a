// Steady client traffic for the chaos tests: a few concurrent clients looping over a set of requests, every
// answer recorded with when it was sent and how long it took (status 0: no answer, with the reason).
import { performance } from 'node:perf_hooks';

export interface TrafficRequest {
  name: string;
  path: string;
  init?: RequestInit;
}

export interface Sample {
  name: string;
  /** performance.now() when it was sent */
  sentAt: number;
  ms: number;
  status: number;
  contentType: string;
  body: string;
  error?: string;
}

export interface Traffic {
  samples: Sample[];
  stop(): Promise<Sample[]>;
}

/** One request, recorded; a deadline far above any of the system's own so a hang shows as status 0. */
export async function timedFetch(baseUrl: string, req: TrafficRequest, deadlineMs = 20_000): Promise<Sample> {
  const sentAt = performance.now();
  try {
    const res = await fetch(`${baseUrl}${req.path}`, { ...req.init, signal: AbortSignal.timeout(deadlineMs) });
    const body = await res.text();
    return { name: req.name, sentAt, ms: performance.now() - sentAt, status: res.status, contentType: res.headers.get('content-type') ?? '', body };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { name: req.name, sentAt, ms: performance.now() - sentAt, status: 0, contentType: '', body: '', error: e.cause?.code ?? e.name };
  }
}

/** Starts `clients` loops, each sending the next request of `requests()` (called per request, so bodies can differ). */
export function startTraffic(baseUrl: string, requests: () => TrafficRequest[], clients = 4): Traffic {
  const samples: Sample[] = [];
  let running = true;
  let turn = 0;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      const list = requests();
      samples.push(await timedFetch(baseUrl, list[turn++ % list.length]));
    }
  });
  return {
    samples,
    async stop() {
      running = false;
      await Promise.all(loops);
      return samples;
    },
  };
}

/** Counts samples per "name status". */
export function tally(samples: Sample[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of samples) {
    const key = `${s.name} ${s.status || s.error}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
