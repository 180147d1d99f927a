// One cold start, in the fresh process this file runs in: require the unzipped function's handler, then invoke it
// once with an API Gateway v2 event. Prints {"loadedMs","answeredMs","status"}: ms since this process started.
//   node bench/cold-start-probe.cjs <unzipped dir> <handler "path/file.export"> '<event as JSON>'
const { join } = require('node:path');
const { performance } = require('node:perf_hooks');

async function main() {
  const [dir, handlerName, eventJson] = process.argv.slice(2);
  const cut = handlerName.lastIndexOf('.');
  const mod = require(join(dir, `${handlerName.slice(0, cut)}.js`));
  const handler = mod[handlerName.slice(cut + 1)];
  const loadedMs = performance.now();
  const context = { awsRequestId: 'cold-start-probe', functionName: 'probe', getRemainingTimeInMillis: () => 10_000, callbackWaitsForEmptyEventLoop: false };
  const result = await handler(JSON.parse(eventJson), context);
  const answeredMs = performance.now();
  process.stdout.write(`${JSON.stringify({ loadedMs: Math.round(loadedMs), answeredMs: Math.round(answeredMs), status: result && result.statusCode })}\n`);
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`cold start probe failed: ${err && err.stack}\n`);
  process.exit(1);
});
