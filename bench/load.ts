// The load generator: autocannon in a process of its own, so its event loop is not the bench's nor a server's.
//
//   tsx bench/load.ts '<LoadSpec as JSON>'
//
// Runs a short warm-up, then the measured run, and prints one JSON line (LoadResult) on stdout. With `handshake`
// it prints MEASURING and waits for a line on stdin before the measured run, and after its result waits for stdin
// to close before it exits: the parent reads everyone's CPU time exactly around the measured requests (bench/cpu.ts).
import autocannon from 'autocannon';

/** The line the load generator prints when its warm-up is over and the measured run is about to start. */
export const MEASURING = '{"measuring":true}';

export interface LoadSpec {
  url: string;
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Paths the connections cycle through (each connection walks the list in order). */
  paths?: string[];
  /** A fixed offered rate over all connections (requests/s), for latency at a given load instead of at saturation. */
  overallRate?: number;
  /** Wait for the parent around the measured run (MEASURING, then a line on stdin; stdin closed after the result). */
  handshake?: boolean;
}

export interface LoadResult {
  /** 2xx answers per second (a 429 or 503 is no throughput) */
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number; mean: number };
  requests: number;
  /** non-2xx answers + socket errors + timeouts */
  errors: number;
  non2xx: number;
  socketErrors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  durationSeconds: number;
}

function run(spec: LoadSpec, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: seconds,
    method: spec.method ?? 'GET',
    headers: spec.headers,
    body: spec.body,
    timeout: 10,
    requests: spec.paths?.map((path) => ({ path })),
    ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
  });
}

export function toLoadResult(result: autocannon.Result): LoadResult {
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries((result as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {})) {
    statusCodes[code] = stats.count;
  }
  const durationSeconds = result.duration;
  return {
    requestsPerSecond: Math.round(((result.requests.total - result.non2xx) / durationSeconds) * 10) / 10,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max, mean: result.latency.average },
    requests: result.requests.total,
    errors: result.non2xx + result.errors + result.timeouts,
    non2xx: result.non2xx,
    socketErrors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    durationSeconds,
  };
}

async function main() {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  if (spec.warmupSeconds > 0) {
    const warm = await run(spec, spec.warmupSeconds);
    // Requests still queued in the servers when the warm-up stops (bcrypt-bound /token) would eat into the run;
    // a warm-up that got fewer answers than it had connections says the queue is long: give it time.
    const drainMs = warm.requests.total < spec.connections ? 10_000 : Math.min(5000, warm.latency.max);
    await new Promise((resolveDrain) => setTimeout(resolveDrain, drainMs));
  }
  if (spec.handshake) {
    process.stdout.write(`${MEASURING}\n`);
    if (!(await fromParent('line'))) throw new Error('the parent closed stdin before the measured run');
  }
  const result = await run(spec, spec.durationSeconds);
  process.stdout.write(`${JSON.stringify(toLoadResult(result))}\n`);
  // alive until the parent has read this process's CPU time (it closes stdin then)
  if (spec.handshake) await fromParent('end');
}

/** Resolves true when stdin brings a line (`line`) or ends (`end`), false when it ends before the line. */
function fromParent(what: 'line' | 'end'): Promise<boolean> {
  return new Promise((resolveInput) => {
    const onData = (chunk: Buffer) => {
      if (what !== 'line' || !chunk.includes('\n')) return;
      done();
      resolveInput(true);
    };
    const onEnd = () => {
      done();
      resolveInput(what === 'end');
    };
    const done = () => {
      process.stdin.off('data', onData).off('end', onEnd);
      if (what === 'line') process.stdin.pause();
    };
    process.stdin.on('data', onData).on('end', onEnd).resume();
  });
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`load generator failed: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
