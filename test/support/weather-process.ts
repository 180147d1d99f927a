// The weather service's routes on a free port in a process of its own (see startWeatherProcess).
// Prints {"ready":true,"url":...} on stdout when listening; SIGTERM, or the end of stdin (the test run is gone), stops it.
import { closeDatabases, weatherAppOptions } from '../../functions/weather/deps';
import { weatherRoutes } from '../../functions/weather/routes';
import { buildApp } from '../../layers/http/app';
import { announceReady } from '../../local/processes';

async function main() {
  const app = await buildApp(weatherRoutes, weatherAppOptions('weather', 'healthCheck'));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  announceReady({ url: `http://127.0.0.1:${port}` });
  const stop = async () => {
    await app.close();
    await closeDatabases();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.stdin.once('end', stop).resume();
}

main().catch((err) => {
  process.stderr.write(`weather process failed: ${(err as Error).message}\n`);
  process.exit(1);
});
