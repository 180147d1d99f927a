// The OpenWeatherMap stand-in alone (local/services/standin.ts): the stack runs it when OPENWEATHER_API_KEY is unset.
//
//   tsx local/bin/owm-standin.ts [--port N] [--api-key K]     (the key may also come from OPENWEATHER_API_KEY)
//
// Prints one JSON line {"ready":true,"url":...} on stdout when listening; SIGINT/SIGTERM stop it.
import { parseArgs } from 'node:util';
import { announceReady } from '../processes';
import { startStandIn } from '../services/standin';

async function main() {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, 'api-key': { type: 'string' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error('--port must be a port number');
  const standIn = await startStandIn({ port, apiKey: values['api-key'] || process.env.OPENWEATHER_API_KEY });
  announceReady({ url: standIn.url });
  const stop = () => standIn.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  process.stderr.write(`owm stand-in failed: ${(err as Error).message}\n`);
  process.exit(1);
});
