// Cold starts of the packaged functions, measured as the as-deployed tier measures them
// (test/deployed/support/cold-start.ts: `sls package` for stage ci, each zip unpacked, a fresh Node 22 process per run
// behind a Runtime API, timed to handler loaded and to its first answer), beside a floor measured the same way in
// the same run: a bare fastify app behind @fastify/aws-lambda, bundled and minified with the functions' settings.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import JSZip from 'jszip';
import { parse } from 'yaml';
import { measureColdStarts, packagedServices } from '../../test/deployed/support/cold-start';
import type { DeployedFunction } from '../../test/deployed/support/package-services';
import { ROOT, say } from '../context';
import type { ColdStart } from '../results';
import type { Run } from './scenario';

const FLOOR_ROUTE = { method: 'GET', path: '/health-check', target: 'floor' };

/** The floor as a deployed function: bench/cold-start-floor.ts built with serverless.yml's custom.esbuild, zipped. */
export async function floorFunction(dir: string): Promise<DeployedFunction> {
  const settings = (parse(readFileSync(join(ROOT, 'serverless.yml'), 'utf8')) as { custom: { esbuild: Record<string, unknown> } }).custom.esbuild;
  const built = await build({
    entryPoints: [join(ROOT, 'bench', 'cold-start-floor.ts')],
    bundle: true,
    write: false,
    platform: 'node',
    logLevel: 'error',
    target: String(settings.target ?? 'node20'),
    format: 'cjs',
    minify: settings.minify === true,
    sourcemap: settings.sourcemap === true,
    alias: settings.alias as Record<string, string> | undefined,
  });
  const zip = new JSZip();
  zip.file('floor.js', built.outputFiles[0].contents);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'floor.zip');
  writeFileSync(file, await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' }));
  return { alias: 'floor', name: 'floor', handler: 'floor.handler', runtime: 'nodejs22.x', memoryMb: 1024, timeoutSeconds: 10, environment: {}, zip: file };
}

/** Measures the floor the deployed tier's way (one result). */
export async function measureFloor(dir: string, repeats: number): Promise<ColdStart> {
  const [floor] = await measureColdStarts([await floorFunction(dir)], [FLOOR_ROUTE], repeats);
  return { service: 'floor', fn: 'bare fastify + @fastify/aws-lambda', zipBytes: floor.zipBytes, loadedMs: floor.initMs, answeredMs: floor.firstAnswerMs };
}

export async function runColdStarts(run: Run): Promise<void> {
  const repeats = run.ctx.options.quick ? 1 : 3;
  const root = join(run.ctx.scratch, 'cold-starts');
  const failures: string[] = [];
  say('cold starts: sls package (stage ci) of both services...');
  const services = await packagedServices(join(root, 'package')).catch((err: Error) => {
    failures.push(`sls package: ${err.message.split('\n').slice(0, 3).join(' ')}`);
    return [];
  });
  const floor = await measureFloor(join(root, 'floor'), repeats);
  say(`  floor: loaded ${floor.loadedMs} ms, answered ${floor.answeredMs} ms`);
  const functions: ColdStart[] = [];
  for (const [i, service] of services.entries()) {
    const label = i === 0 ? 'app-backend' : 'weather-service';
    const results = await measureColdStarts(service.functions, service.routes, repeats).catch((err: Error) => {
      failures.push(`${label}: ${err.message.split('\n').slice(0, 3).join(' ')}`);
      return [];
    });
    for (const [j, r] of results.entries()) {
      const fn = service.functions[j].alias;
      functions.push({
        service: label,
        fn,
        zipBytes: r.zipBytes,
        loadedMs: r.initMs,
        answeredMs: r.firstAnswerMs,
        ratioToFloor: Math.round((r.firstAnswerMs / floor.answeredMs) * 100) / 100,
      });
      say(`  ${label}/${fn}: ${Math.round(r.zipBytes / 1024)} KB, loaded ${r.initMs} ms, answered ${r.firstAnswerMs} ms`);
    }
  }
  rmSync(root, { recursive: true, force: true });
  run.report.coldStarts = { repeats, floor, functions, failures };
}
