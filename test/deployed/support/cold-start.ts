// Cold starts of the packaged functions: each zip unpacked, a fresh Node 22 process per run, timed from
// spawn to handler loaded (the runtime's first poll) and to its first answer. Used by the bench:
//
//   tsx test/deployed/support/cold-start.ts [--runs N] [--backend-dir DIR --weather-dir DIR]
//
// Without package dirs both services are packaged for stage ci, pointing at no database (port 9 refuses at
// once), so a first request costs what the code costs. As deployed, the URLs ask for sslmode=verify-full and the
// functions load a CA file (NODE_EXTRA_CA_CERTS, here a throw-away one). Prints one JSON object per function.
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FunctionContainer } from './function-container';
import { node22 } from './node22';
import { makeTestCertificates } from '../../support/test-ca';
import { packageService, readTemplate, ROOT, type DeployedFunction, type DeployedRoute } from './package-services';

export interface ColdStartResult {
  function: string;
  zipBytes: number;
  /** medians over the runs */
  initMs: number;
  firstAnswerMs: number;
  runs: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** An event for the function's first route (payload 1.0 for a REST API), without credentials: every function answers it without a database. */
export function firstRouteEvent(routes: DeployedRoute[], fn: DeployedFunction) {
  const route = routes.find((r) => r.target === fn.alias);
  const method = !route || route.method === '*' || route.method === 'ANY' ? 'GET' : route.method;
  const path = (route?.path ?? '/').replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000').replace('{proxy+}', 'cold');
  const headers = { host: 'cold-start', 'content-type': 'application/json', 'x-request-id': 'cold-start' };
  const body = method === 'POST' ? '{}' : null;
  if (route?.api === 'rest') {
    const multiValueHeaders = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]]));
    const requestContext = {
      httpMethod: method,
      path: `/ci${path}`,
      resourcePath: route.path,
      stage: 'ci',
      requestId: 'cold-start',
      requestTimeEpoch: Date.now(),
    };
    return {
      resource: route.path,
      path,
      httpMethod: method,
      headers,
      multiValueHeaders,
      requestContext: { ...requestContext, identity: { sourceIp: '127.0.0.1' } },
      body,
      isBase64Encoded: false,
    };
  }
  return {
    version: '2.0',
    routeKey: route ? `${route.method} ${route.path}` : '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'cold-start', 'content-type': 'application/json', 'x-request-id': 'cold-start' },
    requestContext: {
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'cold-start' },
      requestId: 'cold-start',
      routeKey: '$default',
      stage: '$default',
      timeEpoch: Date.now(),
    },
    ...(method === 'POST' ? { body: '{}' } : {}),
    isBase64Encoded: false,
  };
}

/** Times `runs` cold starts of every function, one process at a time (so they do not compete for the CPU). */
export async function measureColdStarts(functions: DeployedFunction[], routes: DeployedRoute[], runs = 3): Promise<ColdStartResult[]> {
  const nodeBinary = node22();
  const base = mkdtempSync(join(tmpdir(), 'cold-start-'));
  chmodSync(base, 0o755);
  const results: ColdStartResult[] = [];
  try {
    for (const fn of functions) {
      const init: number[] = [];
      const first: number[] = [];
      for (let run = 0; run < runs; run++) {
        const container = new FunctionContainer(fn, join(base, `${fn.alias}-${run}`), nodeBinary);
        await container.deploy();
        await container.invoke(firstRouteEvent(routes, fn));
        await container.stop();
        if (container.coldStart) {
          init.push(container.coldStart.initMs);
          first.push(container.coldStart.firstAnswerMs);
        }
      }
      results.push({
        function: fn.name,
        zipBytes: statSync(fn.zip).size,
        initMs: Math.round(median(init)),
        firstAnswerMs: Math.round(median(first)),
        runs: init.length,
      });
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  return results;
}

/**
 * Both services packaged for stage ci with every secret set, pointing at no database (port 9 refuses at once); the
 * CA file they load is written into `out` (it must outlive the packaging: the functions read it at each start).
 */
export async function packagedServices(out: string) {
  const nowhere = 'postgres://cold:start@127.0.0.1:9/none?sslmode=verify-full';
  const certificates = makeTestCertificates();
  const caFile = join(out, 'ca.crt');
  mkdirSync(out, { recursive: true });
  copyFileSync(certificates.caFile, caFile);
  chmodSync(out, 0o755);
  certificates.remove();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    DEVICE_TOKEN_SECRET: randomBytes(32).toString('base64url'),
    OPENWEATHER_API_KEY: 'cold-start',
    OPENWEATHER_BASE_URL: 'http://127.0.0.1:9',
    NODE_EXTRA_CA_CERTS: caFile,
  };
  // The local runner's settings must not reach a deployed template; the weather stack's exports come as imports.
  for (const local of ['LOCAL_STATE_DIR', 'WEATHER_SERVICE_URL', 'EDGE_PROOF_SECRET', 'WEATHER_BACKEND_ROLE_ARN', 'API_WAF']) delete env[local];
  const imports = { 'weather-service-ci-api-id': 'coldstart', 'weather-service-ci-url': 'http://127.0.0.1:9' };
  return Promise.all([
    packageService(ROOT, join(out, 'backend'), 'ci', { ...env, DATABASE_URL: nowhere }, { imports }),
    packageService(join(ROOT, 'functions', 'weather'), join(out, 'weather'), 'ci', { ...env, WEATHER_DATABASE_URL: nowhere }),
  ]);
}

async function main() {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, 'backend-dir': { type: 'string' }, 'weather-dir': { type: 'string' } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  const given = values['backend-dir'] && values['weather-dir'];
  const out = given ? '' : mkdtempSync(join(tmpdir(), 'cold-start-package-'));
  try {
    const services = given ? [readTemplate(values['backend-dir']!), readTemplate(values['weather-dir']!)] : await packagedServices(out);
    for (const service of services) {
      for (const result of await measureColdStarts(service.functions, service.routes, runs)) process.stdout.write(`${JSON.stringify(result)}\n`);
    }
  } finally {
    if (out) rmSync(out, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  });
}
