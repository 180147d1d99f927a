// Drives serverless-offline's patched in-process runtime classes in a fresh process and prints what it saw as
// one JSON line (test/runtime/patches.test.ts): handler resolution per runner, env assignment, the timeout timer.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'patched-runtime-'));
writeFileSync(join(dir, 'handler.js'), 'exports.handler = async () => ({ statusCode: 200, body: process.env.PROBE_VALUE });\n');
const so = join(process.cwd(), 'node_modules', 'serverless-offline', 'src', 'lambda');
const { default: InProcessRunner } = await import(join(so, 'handler-runner', 'in-process-runner', 'index.js'));
const { default: LambdaFunction } = await import(join(so, 'LambdaFunction.js'));
const { default: LambdaFunctionPool } = await import(join(so, 'LambdaFunctionPool.js'));
const funOptions = { codeDir: dir, handler: 'handler.handler', servicePath: dir, timeout: 5000 };
const seen = {};
try {
  const runner = new InProcessRunner(funOptions, { PROBE_VALUE: 'one' });
  seen.first = (await runner.run({}, {})).body;
  process.env.PROBE_VALUE = 'changed by the handler';
  seen.sameEnvAgain = (await runner.run({}, {})).body;
  rmSync(join(dir, 'handler.js'));
  // resolved once: the runner still answers with its file gone; a new runner (the reloadHandler path) resolves again
  seen.afterDelete = (await runner.run({}, {})).body;
  seen.newRunnerResolves = await new InProcessRunner(funOptions, { PROBE_VALUE: 'two' }).run({}, {}).then(
    () => 'loaded',
    (err) => err.constructor.name,
  );
  writeFileSync(join(dir, 'handler.js'), 'exports.handler = async () => ({ statusCode: 200, body: "ok" });\n');
  const serverless = { service: { service: 'probe', provider: { runtime: 'nodejs20.x', region: 'local', timeout: 30 } }, config: { servicePath: dir } };
  const fn = new LambdaFunction('probe', { handler: 'handler.handler', name: 'probe' }, serverless, { useInProcess: true });
  const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  await fn.runHandler();
  seen.timersLeft = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length - timersBefore;
  // the pool as `npm run dev` (reloadHandler: true) and as the stack (false) use it: invoke, delete the file, invoke
  for (const reloadHandler of [true, false]) {
    writeFileSync(join(dir, 'pooled.js'), 'exports.handler = async () => ({ statusCode: 200 });\n');
    const pool = new LambdaFunctionPool(serverless, { useInProcess: true, reloadHandler });
    const definition = { handler: 'pooled.handler', name: 'pooled' };
    await pool.get('pooled', definition).runHandler();
    rmSync(join(dir, 'pooled.js'));
    seen[reloadHandler ? 'reloadSecondCall' : 'noReloadSecondCall'] = await pool
      .get('pooled', definition)
      .runHandler()
      .then(
        () => 'served',
        (err) => err.constructor.name,
      );
    await pool.cleanup();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify(seen)}\n`);
