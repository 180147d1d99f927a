// The settings of everything around the functions, declared like the services' own (layers/config/schema.ts): the
// local runner's, the edge's (HAProxy reads them from its environment), serverless-offline's when run by hand, the
// packaging step's (serverless.yml) and the optional Grafana stack's. .env.example and docs/configuration.md are
// generated from these and the two services' schemas (`npm run settings`); test/docs/settings.test.ts checks them.
import { BACKEND_SETTINGS } from '../functions/settings';
import { WEATHER_SETTINGS } from '../functions/weather/settings';
import type { ConfigError } from '../layers/config/env';
import { choice, credentialUrl, defineSettings, derived, integer, list, text, type AnySchema } from '../layers/config/schema';
import { EDGE_PROOF_SECRET, LOG_LEVELS } from '../layers/config/platform';

const RUNNER = ['runner'];
const port = (variable: string, fallback: number, description: string, readBy = RUNNER) =>
  integer(variable, { min: 0, max: 65_535, default: fallback, readBy, description });
const ownerUrl = (variable: string, database: string) =>
  credentialUrl(variable, {
    protocols: ['postgres', 'postgresql'],
    accepts: 'a postgres:// URL',
    readBy: ['runner', 'npm run migrate'],
    default: '',
    description: `the owner role \`npm run migrate\` (and the runner, with an external database) migrates \`${database}\` as; the runtime role then gets DML only`,
  });

/** Where the local runtime's state is: the runner writes it, the functions read it on a local stage. */
const LOCAL_STATE_DIR = text('LOCAL_STATE_DIR', {
  readBy: ['runner', 'npm run db', 'npm run migrate', 'every function on a local stage'],
  // Unset, the runner uses the repository's local/.data and a function finds it by walking up from its working directory.
  default: derived('`local/.data`', () => ''),
  scope: 'local',
  description: "the local state: the embedded Postgres's data and URLs (`postgres.json`), the generated secrets, the runner's pid file and generated configs",
});

export const RUNNER_SETTINGS = defineSettings('runner', {
  port: port('PORT', 8080, "HAProxy's API port (`0`: a free one)"),
  haproxyAddress: text('HAPROXY_ADDRESS', {
    default: '127.0.0.1',
    readBy: RUNNER,
    description: 'address the API binds to (`0.0.0.0` opens it to the network)',
  }),
  statsPort: port('STATS_PORT', 8404, "HAProxy's `/stats` page and Prometheus `/metrics`, on loopback, behind a login (`local/.data/stats-credentials`)"),
  weatherPort: port(
    'WEATHER_HTTP_PORT',
    4000,
    "the weather service's one URL for the backend (`WEATHER_SERVICE_URL`): HAProxy's loopback balancer over the weather replicas; for `sls offline start` by hand, the weather service's own port",
    ['runner', 'serverless-offline'],
  ),
  backendReplicas: integer('BACKEND_REPLICAS', {
    min: 2,
    max: 16,
    default: 2,
    readBy: RUNNER,
    description: 'app backend instances, each serverless-offline on its own free ports',
  }),
  weatherReplicas: integer('WEATHER_REPLICAS', {
    min: 1,
    max: 16,
    default: 1,
    readBy: RUNNER,
    description: 'weather service instances; 1 measured fastest on 2 cores',
  }),
  instanceMaxOldSpaceMb: integer('INSTANCE_MAX_OLD_SPACE_MB', {
    min: 64,
    max: 65_536,
    default: 160,
    readBy: RUNNER,
    description: "V8's old-space cap of each serverless-offline instance, in MB (`--max-old-space-size`, ahead of any `NODE_OPTIONS` of yours)",
  }),
  warmUpRequests: integer('WARM_UP_REQUESTS', {
    min: 0,
    max: 100_000,
    default: 1000,
    readBy: RUNNER,
    description:
      'requests the runner sends each instance before it reports healthy (and after a restart), so the first seconds run near full speed (`local/warm-up.ts`; `0`: none)',
  }),
  localStateDir: LOCAL_STATE_DIR,
  postgresPort: port('POSTGRES_PORT', 0, 'the embedded Postgres under `npm run db` (`0`: a free one)', ['npm run db']),
  migrateDatabaseUrl: ownerUrl('MIGRATE_DATABASE_URL', 'app_db'),
  migrateWeatherDatabaseUrl: ownerUrl('MIGRATE_WEATHER_DATABASE_URL', 'weather_db'),
  logMaxBytes: integer('LOG_MAX_BYTES', {
    min: 1024,
    max: Number.MAX_SAFE_INTEGER,
    default: 50 * 1024 * 1024,
    readBy: RUNNER,
    description: 'a `local/logs/*.log` file is rotated once it holds this many bytes (`<name>.log` becomes `<name>.log.1`)',
  }),
  logFilesKept: integer('LOG_FILES_KEPT', {
    min: 1,
    max: 1000,
    default: 3,
    readBy: RUNNER,
    description: 'rotated files kept per log (`<name>.log.1` … `<name>.log.N`)',
  }),
  slsLogLevel: choice('SLS_LOG_LEVEL', {
    values: ['error', 'warning', 'notice', 'info', 'debug'],
    default: 'notice',
    readBy: ['serverless-offline'],
    description: "serverless' own output; the runner sets `warning` for its instances (no per-request lines)",
  }),
});

const HAPROXY = ['haproxy'];

/** Read by HAProxy from its environment (haproxy.cfg); the runner validates them and hands them over. */
export const EDGE_SETTINGS = defineSettings('haproxy', {
  authRequests: integer('RATE_LIMIT_AUTH_REQUESTS', {
    min: 1,
    max: 1_000_000_000,
    default: 20,
    readBy: HAPROXY,
    description: '`POST /token` + `POST /register` allowed per client address ...',
  }),
  authWindowSeconds: integer('RATE_LIMIT_AUTH_WINDOW_SECONDS', {
    min: 1,
    max: 86_400,
    default: 10,
    readBy: HAPROXY,
    description: '... per this sliding window, in seconds (then 429 with `Retry-After`)',
  }),
  weatherRequests: integer('RATE_LIMIT_WEATHER_REQUESTS', {
    min: 1,
    max: 1_000_000_000,
    default: 60,
    readBy: HAPROXY,
    description: '`GET /weather/…` allowed per client address ...',
  }),
  weatherWindowSeconds: integer('RATE_LIMIT_WEATHER_WINDOW_SECONDS', {
    min: 1,
    max: 86_400,
    default: 10,
    readBy: HAPROXY,
    description: '... per this sliding window, in seconds (then 429 with `Retry-After`)',
  }),
  weatherServiceRequests: integer('RATE_LIMIT_WEATHER_SERVICE_REQUESTS', {
    min: 1,
    max: 1_000_000_000,
    default: 2000,
    readBy: HAPROXY,
    description: 'requests the loopback weather frontend passes on, every caller together (as the deployed route throttle) ...',
  }),
  weatherServiceWindowSeconds: integer('RATE_LIMIT_WEATHER_SERVICE_WINDOW_SECONDS', {
    min: 1,
    max: 86_400,
    default: 1,
    readBy: HAPROXY,
    description: '... per this sliding window, in seconds (then 429 with `Retry-After`)',
  }),
  corsOrigins: list('CORS_ORIGINS', {
    default: [],
    readBy: HAPROXY,
    description: 'exact origins allowed to call the API from a browser, comma- or space-separated; empty: no CORS headers at all',
  }),
  maxBodyBytes: integer('MAX_BODY_BYTES', {
    min: 1,
    max: 65_536,
    default: 65_536,
    readBy: HAPROXY,
    description: 'request bodies above this, whatever their framing (chunked too), are refused with 413 at the edge',
  }),
  // The rest are set by the runner for the HAProxy it runs; the fallbacks in haproxy.cfg serve HAProxy run by hand.
  weatherFrontendPort: port(
    'WEATHER_PORT',
    4000,
    "HAProxy's loopback frontend in front of the weather instances (the runner sets it from `WEATHER_HTTP_PORT`)",
    HAPROXY,
  ),
  backend1: text('BACKEND_1_ADDRESS', {
    default: '127.0.0.1:3000',
    readBy: HAPROXY,
    scope: 'internal',
    description: 'an app backend instance, for HAProxy run by hand (the runner writes one server line per replica instead)',
  }),
  backend2: text('BACKEND_2_ADDRESS', { default: '127.0.0.1:3100', readBy: HAPROXY, scope: 'internal', description: 'the other one' }),
  weather1: text('WEATHER_1_ADDRESS', {
    default: '127.0.0.1:4010',
    readBy: HAPROXY,
    scope: 'internal',
    description: 'a weather service instance, for HAProxy run by hand',
  }),
  weather2: text('WEATHER_2_ADDRESS', { default: '127.0.0.1:4020', readBy: HAPROXY, scope: 'internal', description: 'the other one' }),
  statsUser: text('STATS_USER', { default: 'stats', readBy: HAPROXY, scope: 'internal', description: 'the login of `/stats` and `/metrics`' }),
  statsPassword: text('STATS_PASSWORD', {
    default: '',
    readBy: HAPROXY,
    scope: 'internal',
    description: 'its password: generated once into `LOCAL_STATE_DIR/stats-password`; unset, both pages are refused',
  }),
  adminSocket: text('HAPROXY_ADMIN_SOCKET', {
    default: '',
    readBy: HAPROXY,
    scope: 'internal',
    description: "the runtime API's socket (`LOCAL_STATE_DIR/haproxy.sock`, mode 600): the runner drains an instance through it before restarting it",
  }),
  instanceLogs: text('INSTANCE_LOGS', {
    default: '',
    readBy: ['every instance under the runner'],
    scope: 'internal',
    description: 'where an instance writes its own JSON log lines and how they rotate (JSON: file, maxBytes, filesKept; local/services/instance-logs.ts)',
  }),
  edgeProof: EDGE_PROOF_SECRET,
});

const OFFLINE = ['serverless-offline'];
const flag = (variable: string, fallback: 'true' | 'false', description: string) =>
  choice(variable, { values: ['true', 'false'], default: fallback, readBy: OFFLINE, description });

/** Read by serverless.yml when `sls offline start` runs (the runner sets them for its instances). */
export const OFFLINE_SETTINGS = defineSettings('serverless-offline', {
  httpPort: port('HTTP_PORT', 3000, "the backend's HTTP port under `sls offline start`", OFFLINE),
  lambdaPort: port('LAMBDA_PORT', 3002, "the backend's Lambda invoke port under `sls offline start`", OFFLINE),
  weatherLambdaPort: port('WEATHER_LAMBDA_PORT', 4002, "the weather service's Lambda invoke port under `sls offline start`", OFFLINE),
  esbuildWorkFolder: text('ESBUILD_WORK_FOLDER', {
    default: '.esbuild',
    readBy: OFFLINE,
    description: "serverless-esbuild's output folder; each running instance needs its own",
  }),
  prebuilt: flag('OFFLINE_PREBUILT', 'false', '`true`: load prebuilt bundles from `OFFLINE_PREBUILT_DIR` instead of building (the runner does)'),
  prebuiltDir: text('OFFLINE_PREBUILT_DIR', { default: '', readBy: OFFLINE, description: 'where the prebuilt bundles are' }),
  reload: flag('OFFLINE_RELOAD', 'false', '`true`: serverless-offline resolves the handlers afresh on every invocation (`npm run dev`)'),
  inProcess: flag('OFFLINE_IN_PROCESS', 'true', "`false`: serverless-offline's worker-thread runner instead of in-process"),
});

const PACKAGING = ['serverless.yml'];
const rate = (variable: string, fallback: number, description: string) =>
  integer(variable, { min: 1, max: 1_000_000, default: fallback, readBy: PACKAGING, description });

/** Read by both serverless.yml when packaging (docs/deploying.md). */
export const PACKAGING_SETTINGS = defineSettings('packaging', {
  logLevel: choice('LOG_LEVEL', { values: LOG_LEVELS, default: 'INFO', readBy: PACKAGING, description: "the functions' log level (`POWERTOOLS_LOG_LEVEL`)" }),
  architecture: choice('LAMBDA_ARCHITECTURE', {
    values: ['arm64', 'x86_64'],
    default: 'arm64',
    readBy: PACKAGING,
    description: '`arm64` (Graviton, cheaper) or `x86_64`; the bcrypt zips carry both Linux binaries',
  }),
  logRetentionDays: integer('LOG_RETENTION_DAYS', {
    min: 1,
    max: 3653,
    default: 14,
    readBy: PACKAGING,
    description: 'retention of the function and access log groups, in days',
  }),
  vpc: choice('LAMBDA_VPC', {
    values: ['off', 'on'],
    default: 'off',
    readBy: PACKAGING,
    description: '`on` puts every function in the VPC of the two lists below',
  }),
  subnetIds: text('LAMBDA_SUBNET_IDS', { default: '', readBy: PACKAGING, description: 'comma-separated private subnets (with `LAMBDA_VPC=on`)' }),
  securityGroupIds: text('LAMBDA_SECURITY_GROUP_IDS', {
    default: '',
    readBy: PACKAGING,
    description: 'comma-separated security groups (with `LAMBDA_VPC=on`)',
  }),
  apiThrottleRate: rate('API_THROTTLE_RATE', 100, 'backend: steady requests/s per route, for the whole API (all callers together)'),
  apiThrottleBurst: rate('API_THROTTLE_BURST', 200, 'backend: burst per route, for the whole API'),
  authThrottleRate: rate('AUTH_THROTTLE_RATE', 10, 'backend: the same for `POST /token` and `POST /register`'),
  authThrottleBurst: rate('AUTH_THROTTLE_BURST', 20, 'backend: their burst'),
  weatherThrottleRate: rate('WEATHER_THROTTLE_RATE', 100, 'weather service: steady requests/s per route'),
  weatherThrottleBurst: rate('WEATHER_THROTTLE_BURST', 200, 'weather service: burst per route'),
  waf: choice('API_WAF', {
    values: ['on', 'off'],
    default: 'on',
    readBy: PACKAGING,
    description: 'backend: `off` leaves the AWS WAF web ACL (per-client-address rate rules) out of the stage, e.g. for `dev` (docs/deploying.md)',
  }),
  wafWindowSeconds: choice('WAF_WINDOW_SECONDS', {
    values: ['60', '120', '300', '600'],
    default: '300',
    readBy: PACKAGING,
    description: "the WAF rate rules' window, in seconds (the windows WAF offers)",
  }),
  wafAuthLimit: integer('WAF_AUTH_LIMIT', {
    min: 10,
    max: 2_000_000_000,
    default: 100,
    readBy: PACKAGING,
    description: '`/token` + `/register` per client address per window',
  }),
  wafWeatherLimit: integer('WAF_WEATHER_LIMIT', {
    min: 10,
    max: 2_000_000_000,
    default: 300,
    readBy: PACKAGING,
    description: '`/weather/…` per client address per window',
  }),
  wafGeneralLimit: integer('WAF_GENERAL_LIMIT', {
    min: 10,
    max: 2_000_000_000,
    default: 1000,
    readBy: PACKAGING,
    description: 'every request per client address per window',
  }),
});

const COMPOSE = ['compose.yml'];
/** Read by local/observability/compose.yml (the optional Grafana stack). */
export const COMPOSE_SETTINGS = defineSettings('grafana stack', {
  grafanaPort: port('GRAFANA_PORT', 3000, "Grafana's port", COMPOSE),
  lokiPort: port('LOKI_PORT', 3100, "Loki's port", COMPOSE),
  alloyPort: port('ALLOY_PORT', 12345, "Alloy's UI port (with the Alloy profile)", COMPOSE),
  grafanaAdminPassword: text('GRAFANA_ADMIN_PASSWORD', { default: 'admin', readBy: COMPOSE, description: "Grafana's admin password" }),
});

/** LOG_MAX_BYTES and LOG_FILES_KEPT, validated: how the local log files rotate (local/log-files.ts). */
export function rotationSettings(env: NodeJS.ProcessEnv = process.env): { maxBytes: number; filesKept: number } {
  const { logMaxBytes, logFilesKept } = RUNNER_SETTINGS.read(env);
  return { maxBytes: logMaxBytes, filesKept: logFilesKept };
}

/** Every schema of the repository, in the order .env.example and the docs list them. */
export const ALL_SCHEMAS: readonly AnySchema[] = [
  BACKEND_SETTINGS,
  WEATHER_SETTINGS,
  RUNNER_SETTINGS,
  EDGE_SETTINGS,
  OFFLINE_SETTINGS,
  PACKAGING_SETTINGS,
  COMPOSE_SETTINGS,
];

/**
 * Every bad setting of a local run in `env`: the runner's, the edge's, serverless-offline's, and both services' as their
 * instances will read them (stage local). A variable declared by several schemas is reported once.
 */
export function localRunProblems(env: NodeJS.ProcessEnv): ConfigError[] {
  const asInstances = { ...env, STAGE: 'local' };
  const problems = [BACKEND_SETTINGS, WEATHER_SETTINGS].flatMap((schema) => schema.problems(asInstances));
  problems.push(...[RUNNER_SETTINGS, EDGE_SETTINGS, OFFLINE_SETTINGS, PACKAGING_SETTINGS].flatMap((schema) => schema.problems(env)));
  const seen = new Set<string>();
  return problems.filter((p) => !seen.has(p.message) && seen.add(p.message));
}

/** Bad settings, all named at once: nothing is started. */
export class SettingsProblems extends Error {
  constructor(readonly problems: ConfigError[]) {
    super(
      `${problems.length === 1 ? 'a setting is' : `${problems.length} settings are`} wrong, nothing was started:\n${problems.map((p) => `  ${p.message}`).join('\n')}`,
    );
    this.name = 'SettingsProblems';
  }
}

/** Throws SettingsProblems naming every bad setting of a local run. */
export function assertLocalRunSettings(env: NodeJS.ProcessEnv): void {
  const problems = localRunProblems(env);
  if (problems.length > 0) throw new SettingsProblems(problems);
}
