// The project's haproxy.cfg (on free ports, with the given environment) in front of two stub backends, and two stub
// weather instances behind its loopback weather frontend, that record every request reaching them: for testing the
// edge rules themselves, without the functions behind them.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { haproxyMetric } from './haproxy-metrics';
import { spawnHaproxy } from './haproxy-process';

export interface StubRequest {
  /** which stub got it: 1 or 2 (app backend), 3 or 4 (weather service) */
  server: number;
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  bodyBytes: number;
}

/** Answers a request the stub got (after its body was read); the default answers 200 {} like a function would. */
export type StubHandler = (req: IncomingMessage, res: ServerResponse, seen: StubRequest) => void;

export interface EdgeHaproxy {
  url: string;
  /** the weather frontend (what the backend's WEATHER_SERVICE_URL would be) */
  weatherUrl: string;
  /** every request the stubs got, health checks left out */
  received: StubRequest[];
  /** HAProxy's health checks the stubs got */
  checks: StubRequest[];
  /** what the stubs answer from now on; their idle keep-alive connections are closed, so it starts afresh */
  handle(handler: StubHandler): Promise<void>;
  stop(): Promise<void>;
}

const MAX_WAIT_STEPS = 200; // × 50 ms: a bound, not an expectation

const answerJson: StubHandler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{}');
};

async function startStub(server: number, edge: { received: StubRequest[]; checks: StubRequest[]; handler: StubHandler }): Promise<Server> {
  const stub = createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
    req.on('end', () => {
      const seen = { server, method: req.method!, url: req.url!, headers: req.headers, bodyBytes };
      if (req.url === '/health-check') {
        // HAProxy's own checks (and the readiness probe above), the latest 100.
        if (edge.checks.push(seen) > 100) edge.checks.shift();
        return answerJson(req, res, seen);
      }
      edge.received.push(seen);
      edge.handler(req, res, seen);
    });
  });
  stub.listen(0, '127.0.0.1');
  await once(stub, 'listening');
  return stub;
}

async function untilRouted(url: string, haproxy: ChildProcess, stderr: () => string): Promise<void> {
  for (let step = 0; ; step++) {
    if (haproxy.exitCode !== null) throw new Error(`haproxy exited with ${haproxy.exitCode}: ${stderr()}`);
    const status = await fetch(`${url}/health-check`)
      .then(async (answer) => (await answer.arrayBuffer(), answer.status))
      .catch(() => 0);
    if (status === 200) return;
    if (step >= MAX_WAIT_STEPS) throw new Error(`haproxy did not route to the stub backends: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts HAProxy with haproxy.cfg and `env` (RATE_LIMIT_*, CORS_ORIGINS, MAX_BODY_BYTES...) before two stubs. */
export async function startEdgeHaproxy(env: Record<string, string> = {}): Promise<EdgeHaproxy> {
  const edge = { received: [] as StubRequest[], checks: [] as StubRequest[], handler: answerJson };
  const stubs = await Promise.all([1, 2, 3, 4].map((server) => startStub(server, edge)));
  const address = (stub: Server) => `127.0.0.1:${(stub.address() as AddressInfo).port}`;
  const weatherStubs = { WEATHER_1_ADDRESS: address(stubs[2]), WEATHER_2_ADDRESS: address(stubs[3]) };
  const haproxy = await spawnHaproxy([address(stubs[0]), address(stubs[1])], { ...weatherStubs, ...env });
  const url = `http://127.0.0.1:${haproxy.port}`;
  const stop = async () => {
    await haproxy.stop();
    for (const stub of stubs) {
      stub.closeAllConnections();
      await new Promise((r) => stub.close(r));
    }
  };
  try {
    await untilRouted(url, haproxy.child, haproxy.stderr);
    // Both servers UP, so a retry has somewhere to go: one health-check round-trip per server is enough.
    await new Promise((r) => setTimeout(r, 1500));
  } catch (err) {
    await stop();
    throw err;
  }
  const metrics = `http://127.0.0.1:${haproxy.statsPort}/metrics`;
  const idleConnections = () =>
    Promise.all(
      ['app-backend-1', 'app-backend-2'].map((server) =>
        haproxyMetric(metrics, haproxy.statsLogin, 'haproxy_server_idle_connections_current', { proxy: 'app_backend', server }),
      ),
    );
  const handle = async (handler: StubHandler) => {
    edge.handler = handler;
    for (const stub of stubs) stub.closeIdleConnections();
    // Until HAProxy has seen those closes it may send the next request over one of them: a 502 the stubs never saw.
    for (let step = 0; (await idleConnections()).some((n) => n > 0); step++) {
      if (step >= MAX_WAIT_STEPS) throw new Error('HAProxy kept idle connections to the stubs after they were closed');
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { url, weatherUrl: `http://127.0.0.1:${haproxy.weatherPort}`, received: edge.received, checks: edge.checks, handle, stop };
}
