// Both services as deployed, on this machine: packaged once for a non-local stage, every function in its
// own container (function-container.ts), each service behind its own HTTP API stand-in (gateway.ts).
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FunctionContainer, type LogLine } from './function-container';
import { Gateway } from './gateway';
import { node22 } from './node22';
import { packageService, ROOT, type PackagedService } from './package-services';

export const STAGE = 'ci';

export interface DeployedSettings {
  databaseUrl: string;
  weatherDatabaseUrl: string;
  openWeatherBaseUrl: string;
  openWeatherApiKey: string;
}

export interface DeployedStack {
  backend: Gateway;
  weather: Gateway;
  packages: { backend: PackagedService; weather: PackagedService };
  containers: FunctionContainer[];
  /** every secret handed to the services (none may appear in a log) */
  secrets: { jwtSecret: string; serviceToken: string; deviceTokenSecret: string };
  logs(): LogLine[];
  stop(): Promise<void>;
}

// Settings the developer's shell or the test run may carry that must not leak into a deployed template.
const LOCAL_ONLY = [
  'LOCAL_STATE_DIR',
  'OFFLINE_PREBUILT',
  'OFFLINE_PREBUILT_DIR',
  'ESBUILD_WORK_FOLDER',
  'STAGE',
  'IS_OFFLINE',
  'IS_LOCAL',
  'DB_POOL_MAX',
  'LAMBDA_VPC',
  'NODE_OPTIONS',
];

function packagingEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of LOCAL_ONLY) delete env[name];
  return { ...env, ...settings };
}

/** Packages both services, unpacks every function and serves them; nothing runs until a request arrives. */
export async function startDeployedStack(settings: DeployedSettings, onLog?: (line: LogLine) => void): Promise<DeployedStack> {
  const nodeBinary = node22();
  const base = mkdtempSync(join(tmpdir(), 'as-deployed-'));
  chmodSync(base, 0o755); // the functions' user must reach its task root
  const backend = new Gateway();
  const weather = new Gateway();
  const containers: FunctionContainer[] = [];
  const stop = async () => {
    await Promise.all(containers.map((c) => c.stop()));
    await Promise.all([backend.close(), weather.close()]);
    rmSync(base, { recursive: true, force: true });
  };
  try {
    await Promise.all([backend.listen(), weather.listen()]);
    const secrets = {
      jwtSecret: randomBytes(48).toString('base64url'),
      serviceToken: randomBytes(32).toString('base64url'),
      deviceTokenSecret: randomBytes(48).toString('base64url'),
    };
    const [backendPackage, weatherPackage] = await Promise.all([
      packageService(
        ROOT,
        join(base, 'package-backend'),
        STAGE,
        packagingEnv({
          DATABASE_URL: settings.databaseUrl,
          JWT_SECRET: secrets.jwtSecret,
          DEVICE_TOKEN_SECRET: secrets.deviceTokenSecret,
          WEATHER_SERVICE_TOKEN: secrets.serviceToken,
          WEATHER_SERVICE_URL: weather.url,
          // The local runner's setting in this shell must not make it into a deployed template.
          EDGE_PROOF_SECRET: 'a secret of the shell that packages, never deployed',
        }),
      ),
      packageService(
        join(ROOT, 'functions', 'weather'),
        join(base, 'package-weather'),
        STAGE,
        packagingEnv({
          WEATHER_DATABASE_URL: settings.weatherDatabaseUrl,
          OPENWEATHER_API_KEY: settings.openWeatherApiKey,
          OPENWEATHER_BASE_URL: settings.openWeatherBaseUrl,
          WEATHER_SERVICE_TOKEN: secrets.serviceToken,
        }),
      ),
    ]);
    for (const [gateway, pkg, name] of [
      [backend, backendPackage, 'backend'],
      [weather, weatherPackage, 'weather'],
    ] as const) {
      const own = pkg.functions.map((fn) => new FunctionContainer(fn, join(base, name, fn.alias), nodeBinary, onLog));
      await Promise.all(own.map((container) => container.deploy()));
      containers.push(...own);
      gateway.attach(pkg.routes, own);
    }
    return {
      backend,
      weather,
      packages: { backend: backendPackage, weather: weatherPackage },
      containers,
      secrets,
      logs: () => containers.flatMap((c) => c.logs),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
