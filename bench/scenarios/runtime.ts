// The local runtime's own cost per invocation (no HTTP): serverless-offline as installed (patched through
// local/patches) against an unpatched copy made for this run by reversing the patches, alternated A/B/A/B in
// separate processes (bench/runtime-invocations.mjs), so the ratio is of one moment on one machine.
import { execFile } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, say } from '../context';
import type { RuntimeSample } from '../results';
import type { Run } from './scenario';

const run$ = promisify(execFile);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function sample(count: number, soDir?: string): Promise<RuntimeSample> {
  const args = [join(ROOT, 'bench', 'runtime-invocations.mjs'), String(count), ...(soDir ? [soDir] : [])];
  const { stdout } = await run$(process.execPath, args, { cwd: ROOT, timeout: 120_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as RuntimeSample;
}

/** A copy of the installed package with the project's patches reversed (inside node_modules, so its imports resolve). */
async function unpatchedCopy(): Promise<string> {
  const dir = join(ROOT, 'node_modules', `.bench-unpatched-serverless-offline-${process.pid}`);
  cpSync(join(ROOT, 'node_modules', 'serverless-offline'), dir, { recursive: true });
  const patchDir = join(ROOT, 'local', 'patches');
  for (const file of readdirSync(patchDir).filter((f) => f.startsWith('serverless-offline+'))) {
    await run$('git', ['apply', '--reverse', '-p3', `--directory=${relative(ROOT, dir)}`, '--unsafe-paths', join(patchDir, file)], { cwd: ROOT });
  }
  return dir;
}

export async function runRuntime(run: Run): Promise<void> {
  const quick = run.ctx.options.quick;
  const count = quick ? 10_000 : 30_000;
  const dir = await unpatchedCopy();
  try {
    say(`runtime: ${count} invocations per process, patched vs unpatched serverless-offline, alternated...`);
    const patched: RuntimeSample[] = [];
    const unpatched: RuntimeSample[] = [];
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      patched.push(await sample(count));
      unpatched.push(await sample(count, dir));
    }
    const timeRatio = Math.round((median(patched.map((s) => s.ms)) / median(unpatched.map((s) => s.ms))) * 100) / 100;
    run.report.runtime = { invocations: count, patched, unpatched, timeRatio };
    say(`  patched/unpatched time ${timeRatio}; heap after: ${median(patched.map((s) => s.heapMb))} vs ${median(unpatched.map((s) => s.heapMb))} MB`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
