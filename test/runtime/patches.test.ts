// The serverless-offline patch in local/patches (applied by `npm ci`'s postinstall) must still apply to the installed
// version and still change what it is meant to: each check here fails when the patch stops applying or stops working.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');
const PATCH_DIR = join(ROOT, 'local', 'patches');

const patches = readdirSync(PATCH_DIR).filter((f) => f.endsWith('.patch'));

describe('serverless-offline patches', () => {
  it('has one patch per patched package, for the installed version', () => {
    expect(patches.length).toBeGreaterThan(0);
    for (const file of patches) {
      const [, name, version] = /^(.+)\+([^+]+)\.patch$/.exec(file)!;
      const installed = JSON.parse(readFileSync(join(ROOT, 'node_modules', name.replace('+', '/'), 'package.json'), 'utf8')) as { version: string };
      expect(`${name}@${installed.version}`).toBe(`${name}@${version}`);
    }
  });

  it('is applied in full to node_modules (git apply --check --reverse)', async () => {
    for (const file of patches) {
      // reversing cleanly proves every hunk is in the installed files as written
      await expect(run('git', ['apply', '--check', '--reverse', '--unsafe-paths', join(PATCH_DIR, file)], { cwd: ROOT })).resolves.toBeDefined();
    }
  });

  it('patch-package itself reports it applied (what postinstall runs)', async () => {
    const { stdout } = await run(
      process.execPath,
      [join(ROOT, 'node_modules', 'patch-package', 'index.js'), '--patch-dir', 'local/patches', '--error-on-fail'],
      { cwd: ROOT },
    );
    expect(stdout).toMatch(/serverless-offline@\S+ ✔/);
  });

  it('resolves a handler once per runner, keeps a fresh runner resolving, and leaves no timeout timer behind', async () => {
    const { stdout } = await run(process.execPath, [join(__dirname, 'patched-runtime-probe.mjs')], { cwd: ROOT, timeout: 20_000 });
    const seen = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(seen.first).toBe('one');
    // the env did not change between calls, so it is not assigned again over the handler's own change
    expect(seen.sameEnvAgain).toBe('changed by the handler');
    expect(seen.afterDelete).toBe('changed by the handler');
    // reloadHandler's path (a new LambdaFunction and runner per invocation) resolves the file again
    expect(seen.newRunnerResolves).toBe('ImportModuleError');
    expect(seen.timersLeft).toBe(0);
  });

  it('does not defeat reloadHandler: with it the pool resolves the handler again on every call, without it once', async () => {
    const { stdout } = await run(process.execPath, [join(__dirname, 'patched-runtime-probe.mjs')], { cwd: ROOT, timeout: 20_000 });
    const seen = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    // the handler file is gone before the second call: only a fresh resolution notices
    expect(seen.reloadSecondCall).toBe('ImportModuleError');
    expect(seen.noReloadSecondCall).toBe('served');
  });
});
