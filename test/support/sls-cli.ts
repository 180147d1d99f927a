// The project's serverless CLI run by a test: in a service folder, quiet (no telemetry, no notifications), with an
// esbuild work folder of its own, removed afterwards (a local stack or another test may be bundling in the default one).
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SLS = join(__dirname, '..', '..', 'node_modules', 'serverless', 'bin', 'serverless.js');

/** Runs `sls <args>` in serviceDir with env; workFolder names its bundle folder (unique per caller and run). */
export async function runSls(serviceDir: string, args: string[], env: NodeJS.ProcessEnv, workFolder: string, timeoutMs = 120_000) {
  try {
    return await run(process.execPath, [SLS, ...args], {
      cwd: serviceDir,
      env: { ...env, ESBUILD_WORK_FOLDER: workFolder, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
      maxBuffer: 16 * 1024 * 1024,
      timeout: timeoutMs,
    });
  } finally {
    rmSync(join(serviceDir, workFolder), { recursive: true, force: true });
  }
}
