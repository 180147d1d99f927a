// Produces real HAProxy access-log lines: runs the project's haproxy.cfg (on free ports) in front of a stub
// backend that answers any status asked for, sends the given requests, and returns what HAProxy logged.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { spawnHaproxy } from './haproxy-process';

export interface AccessRequest {
  method: string;
  /** the stub answers /status/NNN with NNN, anything else with 200 */
  path: string;
}

export interface AccessLog {
  /** every line HAProxy wrote on stdout */
  lines: string[];
  /** the status of every request sent, readiness probes included, in order */
  statuses: number[];
}

const MAX_WAIT_STEPS = 200; // × 50 ms: a bound, not an expectation

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function haproxyAccessLog(requests: AccessRequest[]): Promise<AccessLog> {
  const stub = createServer((req, res) => {
    const asked = /^\/status\/(\d{3})$/.exec(req.url ?? '');
    res.writeHead(asked ? Number(asked[1]) : 200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  stub.listen(0, '127.0.0.1');
  await once(stub, 'listening');
  const backend = `127.0.0.1:${(stub.address() as AddressInfo).port}`;
  const haproxy = await spawnHaproxy([backend, backend], {}, 'pipe');
  const port = haproxy.port;
  const lines: string[] = [];
  createInterface({ input: haproxy.child.stdout! }).on('line', (line) => lines.push(line));
  const statuses: number[] = [];
  const send = async (method: string, path: string) => {
    const answer = await fetch(`http://127.0.0.1:${port}${path}`, { method });
    await answer.arrayBuffer();
    statuses.push(answer.status);
    return answer.status;
  };
  try {
    for (let step = 0; ; step++) {
      if (haproxy.child.exitCode !== null) throw new Error(`haproxy exited with ${haproxy.child.exitCode}: ${haproxy.stderr()}`);
      const status = await send('GET', '/health-check').catch(() => 0);
      if (status === 200) break;
      if (status === 0) statuses.pop();
      if (step >= MAX_WAIT_STEPS) throw new Error(`haproxy did not route to the stub backend: ${haproxy.stderr()}`);
      await sleep(50);
    }
    for (const r of requests) await send(r.method, r.path);
    for (let step = 0; lines.length < statuses.length; step++) {
      if (step >= MAX_WAIT_STEPS) throw new Error(`haproxy logged ${lines.length} of ${statuses.length} requests`);
      await sleep(50);
    }
    return { lines, statuses };
  } finally {
    await haproxy.stop();
    stub.close();
  }
}
