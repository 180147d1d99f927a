// The local runtime's own cost per invocation, without HTTP: serverless-offline's LambdaFunction.runHandler() on a
// trivial handler plus the event's CLF request time, N times in one process. Prints {"invocations","ms","perSecondK",
// "rssMb","heapMb"} as one line. Usage: node bench/runtime-invocations.mjs [count] [serverless-offline dir]
// (the dir defaults to the installed, patched package; pointing it at an unpatched copy gives the before figure).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

const count = Number(process.argv[2] ?? 20000);
const soDir = resolve(process.argv[3] ?? join(import.meta.dirname, '..', 'node_modules', 'serverless-offline'));
// where the stack's bundles live (.esbuild-<tag>/.build/functions/...), so the resolution walk is as long
const root = mkdtempSync(join(import.meta.dirname, '..', '.esbuild-runtime-'));
const dir = join(root, '.build', 'functions', 'health');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'handler.js'), 'exports.handler = async () => ({ statusCode: 200, body: "ok" });\n');
const { default: LambdaFunction } = await import(join(soDir, 'src', 'lambda', 'LambdaFunction.js'));
const { default: formatToClfTime } = await import(join(soDir, 'src', 'utils', 'formatToClfTime.js'));
const serverless = {
  service: { service: 'bench', provider: { runtime: 'nodejs20.x', region: 'local', timeout: 10, environment: { STAGE: 'local', LOG_LEVEL: 'INFO' } } },
  config: { servicePath: dir },
};
const fn = new LambdaFunction('bench', { handler: 'handler.handler', name: 'bench' }, serverless, { useInProcess: true });
try {
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    formatToClfTime(Date.now());
    await fn.runHandler();
  }
  const ms = performance.now() - started;
  const { rss, heapUsed } = process.memoryUsage();
  const out = {
    invocations: count,
    ms: Math.round(ms),
    perSecondK: Math.round(count / ms),
    rssMb: Math.round(rss / 2 ** 20),
    heapMb: Math.round(heapUsed / 2 ** 20),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
process.exit(0);
