// CPU per invocation of a backend handler called in-process, without serverless-offline or HTTP in front of it: what
// our own code (fastify inject, validation, the user lookup, the weather proxy's call) costs, to hold against what an
// instance spends per request under the local runtime. The weather proxy calls a stub weather service (a plain HTTP
// server answering at once, in this process, so its cost is included). Needs a database: `npm run db` (or DATABASE_URL).
//   npx tsx bench/in-process-cost.ts [--invocations 16000] [--concurrency 16]
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import type { Context } from 'aws-lambda';
import type { LambdaHandler } from '../layers/http/lambda';
import { apiGatewayEvent, type Call } from '../test/support/lambda';

const REPORT = JSON.stringify({
  city: 'London',
  country: 'GB',
  temperature_c: 13.25,
  feels_like_c: 11.93,
  humidity: 34,
  pressure_hpa: 1031,
  wind_speed_ms: 3.95,
  description: 'light snow',
  observed_at: '2026-12-02T03:50:00.000Z',
  fetched_at: '2026-12-02T03:50:00.000Z',
  cached: true,
  stale: false,
});

async function stubWeatherService(): Promise<Server> {
  const server = createServer((_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(REPORT));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** µs of this process's CPU per invocation, over `invocations` calls made `concurrency` at a time (after a warm-up). */
async function cpuPerInvocation(handler: LambdaHandler, call: Call, invocations: number, concurrency: number): Promise<number> {
  const once = async () => {
    const answer = (await handler(apiGatewayEvent(call), {} as Context)) as { statusCode?: number };
    if (answer.statusCode !== 200) throw new Error(`${call.method} ${call.path} answered ${answer.statusCode}`);
  };
  const rounds = async (count: number) => {
    for (let i = 0; i < count / concurrency; i++) await Promise.all(Array.from({ length: concurrency }, once));
  };
  await rounds(invocations / 4);
  const start = process.cpuUsage();
  await rounds(invocations);
  const used = process.cpuUsage(start);
  return Math.round((used.user + used.system) / invocations);
}

async function main() {
  const { values } = parseArgs({ options: { invocations: { type: 'string', default: '16000' }, concurrency: { type: 'string', default: '16' } } });
  const [invocations, concurrency] = [Number(values.invocations), Number(values.concurrency)];
  process.env.STAGE ??= 'local';
  process.env.SLS_LOG_LEVEL ??= 'warning';
  const stub = await stubWeatherService();
  process.env.WEATHER_SERVICE_URL = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  // Loaded after the environment is set: the settings are read on first use.
  const { createUser } = await import('../test/support/users');
  const { handler: getUser } = await import('../functions/users/get');
  const { handler: weather } = await import('../functions/weather-proxy/get');
  const { closeDatabases } = await import('../functions/deps');
  const user = await createUser('bench');
  const get = { method: 'GET', path: `/user/${user.id}`, headers: user.auth, pathParameters: { user_id: user.id } };
  const proxy = { method: 'GET', path: '/weather/London', headers: user.auth, pathParameters: { city: 'London' } };
  console.log(`${invocations} invocations, ${concurrency} at a time, µs of CPU per invocation:`);
  console.log(`  GET /user/{id}       ${await cpuPerInvocation(getUser, get, invocations, concurrency)}`);
  console.log(`  GET /weather/{city}  ${await cpuPerInvocation(weather, proxy, invocations, concurrency)} (the stub weather service included)`);
  stub.close();
  await closeDatabases();
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
