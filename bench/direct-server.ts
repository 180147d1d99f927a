// The baseline: one service's handlers mounted directly in one plain fastify process (no serverless-offline,
// no HAProxy), with the same layers, the same Postgres and the same stand-in as the stack.
//
//   node --import tsx bench/direct-server.ts backend|weather
//
// Logs go to stdout (the parent sends them to a file, as the stack does); the ready line
// {"ready":true,"url":...} goes to stderr. SIGTERM stops it.
import { backendAppOptions, closeDatabases } from '../functions/deps';
import { backendRoutes } from '../functions/routes';
import { BACKEND_FUNCTIONS } from '../functions/settings';
import { weatherAppOptions } from '../functions/weather/deps';
import { weatherRoutes } from '../functions/weather/routes';
import { WEATHER_FUNCTIONS } from '../functions/weather/settings';
import { buildApp } from '../layers/http/app';

// One app per service serves every function's routes, so it needs every function's settings.
const SERVICES = {
  backend: () => buildApp(backendRoutes, backendAppOptions(...BACKEND_FUNCTIONS)),
  weather: () => buildApp(weatherRoutes, weatherAppOptions(...WEATHER_FUNCTIONS)),
};

async function main() {
  const service = process.argv[2] as keyof typeof SERVICES;
  if (!SERVICES[service]) throw new Error('usage: direct-server.ts backend|weather');
  const app = await SERVICES[service]();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  process.stderr.write(`${JSON.stringify({ ready: true, url: `http://127.0.0.1:${port}` })}\n`);
  process.once('SIGTERM', async () => {
    await app.close();
    await closeDatabases();
    process.exit(0);
  });
}

main().catch((err) => {
  process.stderr.write(`direct server failed: ${(err as Error).message}\n`);
  process.exit(1);
});
