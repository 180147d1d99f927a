// The project's haproxy.cfg as a child process on free ports, in front of the given two backend addresses.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { freePort } from '../../local/ports';
import type { StatsLogin } from '../../local/services/haproxy-stats';
import { ROOT } from './child';

export interface HaproxyProcess {
  child: ChildProcess;
  /** the API frontend's port */
  port: number;
  /** the stats frontend's port (/stats, /metrics) and its login */
  statsPort: number;
  statsLogin: StatsLogin;
  /** the loopback frontend in front of the weather service's instances (WEATHER_1/2_ADDRESS) */
  weatherPort: number;
  /** the last 4000 characters HAProxy wrote to stderr */
  stderr(): string;
  /** SIGTERM by its pid, and waits for it to exit (nothing when it already has) */
  stop(): Promise<void>;
}

/** Starts HAProxy with haproxy.cfg, `backends` as BACKEND_1/2_ADDRESS (and WEATHER_1/2_ADDRESS) and `env` on top; stdout piped when asked. */
export async function spawnHaproxy(
  backends: [string, string],
  env: Record<string, string> = {},
  stdout: 'ignore' | 'pipe' = 'ignore',
): Promise<HaproxyProcess> {
  const port = await freePort();
  const statsPort = await freePort();
  const statsLogin = { user: 'stats', password: randomBytes(12).toString('hex') };
  const weatherPort = await freePort();
  const child = spawn('haproxy', ['-db', '-f', join(ROOT, 'haproxy.cfg')], {
    env: {
      ...process.env,
      HAPROXY_ADDRESS: '127.0.0.1',
      PORT: String(port),
      STATS_PORT: String(statsPort),
      WEATHER_PORT: String(weatherPort),
      BACKEND_1_ADDRESS: backends[0],
      BACKEND_2_ADDRESS: backends[1],
      STATS_PASSWORD: statsLogin.password,
      WEATHER_1_ADDRESS: backends[0],
      WEATHER_2_ADDRESS: backends[1],
      ...env,
    },
    stdio: ['ignore', stdout, 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = once(child, 'exit');
  return {
    child,
    port,
    statsPort,
    statsLogin,
    weatherPort,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null || !child.pid) return;
      process.kill(child.pid, 'SIGTERM');
      await exited;
    },
  };
}
