// Without --stage, the local runtime's commands (`sls offline start`, `sls invoke local`) run on stage local and take
// the local defaults; every other command (`sls package`, `sls deploy`, `sls print`) runs on dev.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { runSls } from '../support/sls-cli';
const { defaultStage } = require('../../local/default-stage.cjs') as { defaultStage: (args: string[]) => string };

const ROOT = resolve(__dirname, '..', '..');
const WORK_FOLDER = `.esbuild-default-stage-${process.pid}`;

/** The environment of a shell without this run's settings (the serverless CLI reads the rest itself). */
const cleanEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  LOCAL_STATE_DIR: process.env.LOCAL_STATE_DIR,
  ...extra,
});

describe('the default stage', () => {
  test.each([
    [['offline'], 'local'],
    [['offline', 'start', '--httpPort', '3100'], 'local'],
    [['invoke', 'local', '-f', 'healthCheck', '--path', 'x.json'], 'local'],
    [['invoke', '-f', 'healthCheck'], 'dev'],
    [['package'], 'dev'],
    [['deploy', 'function', '-f', 'offline'], 'dev'],
    [['print', '--path', 'provider.stage'], 'dev'],
    [[], 'dev'],
  ])('of `sls %j` is %s', (args, stage) => {
    expect(defaultStage(args)).toBe(stage);
  });

  test('sls invoke local without --stage runs on stage local: the health check reaches the embedded database with no setting given', async () => {
    const { stdout } = await runSls(ROOT, ['invoke', 'local', '-f', 'healthCheck', '--path', 'functions/health/events/check.json'], cleanEnv(), WORK_FOLDER);
    expect(stdout).toMatch(/"statusCode": 200/);
    expect(stdout).toContain('{\\"status\\":\\"ok\\",\\"checks\\":{\\"database\\":\\"ok\\"}}');
    // It bundles the function first (esbuild): ~20 s on a busy 2-core machine.
  }, 90_000);

  test('sls print without --stage is dev (as sls package and deploy are): with every secret in the environment, no AWS call', async () => {
    const secret = () => randomBytes(48).toString('base64url');
    const env = cleanEnv({
      DATABASE_URL: 'postgres://app_user:x@127.0.0.1:9/app_db',
      JWT_SECRET: secret(),
      DEVICE_TOKEN_SECRET: secret(),
      WEATHER_SERVICE_TOKEN: secret(),
      WEATHER_SERVICE_URL: 'http://127.0.0.1:9',
    });
    const { stdout } = await runSls(ROOT, ['print', '--path', 'provider.stage'], env, WORK_FOLDER, 60_000);
    expect(stdout.trim().split('\n').pop()).toBe('dev');
  });
});
