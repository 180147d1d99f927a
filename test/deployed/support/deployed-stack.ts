// Both services as deployed, on this machine: packaged once for a non-local stage, every function in its
// own container (function-container.ts) with its role's (fake) credentials, each service behind its own API Gateway
// stand-in (gateway.ts), the backend's stack importing what the weather stack exports, as CloudFormation resolves it.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FunctionContainer, type LogLine } from './function-container';
import { Gateway } from './gateway';
import { node22 } from './node22';
import { ACCOUNT_ID, packageService, ROOT, type PackagedService } from './package-services';
import type { IamPrincipal } from './sigv4';

export const STAGE = 'ci';

export interface DeployedSettings {
  /** with sslmode=verify-full: outside stage local the functions accept nothing weaker */
  databaseUrl: string;
  weatherDatabaseUrl: string;
  /** the CA file the functions trust the database's certificate by (NODE_EXTRA_CA_CERTS, as on Lambda) */
  databaseCaFile: string;
  openWeatherBaseUrl: string;
  openWeatherApiKey: string;
}

export interface DeployedStack {
  backend: Gateway;
  weather: Gateway;
  packages: { backend: PackagedService; weather: PackagedService };
  containers: FunctionContainer[];
  /** the tier's folder (task roots and packages), 0755: a test may deploy a container of its own under it */
  baseDir: string;
  /** every secret handed to the services (none may appear in a log) */
  secrets: { jwtSecret: string; deviceTokenSecret: string; roleCredentials: string[] };
  /** the IAM principal of each container, by function alias and service (`backend/weather`) */
  principals: Map<string, IamPrincipal>;
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
  // Deployed, these come from the template itself (the weather stack's exports, the backend's role, the WAF).
  'WEATHER_SERVICE_URL',
  'WEATHER_BACKEND_ROLE_ARN',
  'API_WAF',
  'NODE_EXTRA_CA_CERTS',
];

function packagingEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of LOCAL_ONLY) delete env[name];
  return { ...env, ...settings };
}

/** The role session a container's credentials stand for, with its role's statements (what IAM would evaluate). */
function principalOf(container: FunctionContainer, role: PackagedService['role']): IamPrincipal {
  const userId = `AROA${container.credential.accessKeyId.slice(4, 20)}:${container.fn.name}`;
  return {
    credential: container.credential,
    userArn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${role.name}/${container.fn.name}`,
    userId,
    accountId: ACCOUNT_ID,
    statements: role.statements,
  };
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
    const jwtSecret = randomBytes(48).toString('base64url');
    const deviceTokenSecret = randomBytes(48).toString('base64url');
    // What the weather stack exports and the backend's imports (Fn::ImportValue), resolved to the stand-in's values.
    const imports = { [`weather-service-${STAGE}-api-id`]: weather.apiId, [`weather-service-${STAGE}-url`]: weather.url };
    const tls = { NODE_EXTRA_CA_CERTS: settings.databaseCaFile };
    // The local runner's edge proof in the shell that packages must not make it into a deployed template.
    const backendEnv = {
      ...tls,
      DATABASE_URL: settings.databaseUrl,
      JWT_SECRET: jwtSecret,
      DEVICE_TOKEN_SECRET: deviceTokenSecret,
      EDGE_PROOF_SECRET: 'x'.repeat(40),
    };
    const [backendPackage, weatherPackage] = await Promise.all([
      packageService(ROOT, join(base, 'package-backend'), STAGE, packagingEnv(backendEnv), { imports }),
      packageService(
        join(ROOT, 'functions', 'weather'),
        join(base, 'package-weather'),
        STAGE,
        packagingEnv({
          ...tls,
          WEATHER_DATABASE_URL: settings.weatherDatabaseUrl,
          OPENWEATHER_API_KEY: settings.openWeatherApiKey,
          OPENWEATHER_BASE_URL: settings.openWeatherBaseUrl,
        }),
      ),
    ]);
    const missing = Object.keys(imports).filter((name) => !(name in weatherPackage.exports));
    if (missing.length) throw new Error(`the backend imports ${missing.join(', ')}, which the weather stack does not export`);
    const principals = new Map<string, IamPrincipal>();
    for (const [gateway, pkg, name] of [
      [backend, backendPackage, 'backend'],
      [weather, weatherPackage, 'weather'],
    ] as const) {
      const own = pkg.functions.map((fn) => new FunctionContainer(fn, join(base, name, fn.alias), nodeBinary, onLog));
      await Promise.all(own.map((container) => container.deploy()));
      containers.push(...own);
      gateway.attach(pkg, own);
      for (const c of own) principals.set(`${name}/${c.fn.alias}`, principalOf(c, pkg.role));
    }
    // IAM knows every role session of the account: the weather API's gateway verifies each against its own policies.
    for (const principal of principals.values()) weather.trust(principal);
    return {
      backend,
      weather,
      packages: { backend: backendPackage, weather: weatherPackage },
      containers,
      baseDir: base,
      secrets: { jwtSecret, deviceTokenSecret, roleCredentials: containers.flatMap((c) => [c.credential.secretAccessKey, c.credential.sessionToken]) },
      principals,
      logs: () => containers.flatMap((c) => c.logs),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
