// `sls package` of one service for a non-local stage into a directory of its own, and what its
// CloudFormation template says about each function (handler, environment, zip) and each HTTP API route.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { runSls } from '../../support/sls-cli';

export const ROOT = join(__dirname, '..', '..', '..');

export interface DeployedFunction {
  /** the key in serverless.yml (`register`) */
  alias: string;
  /** the Lambda function name (`app-backend-ci-register`) */
  name: string;
  handler: string;
  runtime: string;
  memoryMb: number;
  timeoutSeconds: number;
  /** exactly the variables the template declares */
  environment: Record<string, string>;
  zip: string;
}

export interface DeployedRoute {
  method: string;
  path: string;
  /** alias of the function the route invokes */
  target: string;
}

export interface PackagedService {
  dir: string;
  functions: DeployedFunction[];
  routes: DeployedRoute[];
  packageMs: number;
}

type Resource = { Type: string; Properties: Record<string, any> };

/** Packages serviceDir (the folder of its serverless.yml) into outDir; env is the packaging environment. */
export async function packageService(serviceDir: string, outDir: string, stage: string, env: NodeJS.ProcessEnv): Promise<PackagedService> {
  const started = Date.now();
  try {
    await runSls(serviceDir, ['package', '--stage', stage, '--package', outDir], env, `.esbuild-deployed-${process.pid}-${basename(outDir)}`, 0);
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`sls package failed in ${serviceDir}:\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
  return { ...readTemplate(outDir), dir: outDir, packageMs: Date.now() - started };
}

/** The functions and routes of a packaged service, from its CloudFormation template. */
export function readTemplate(outDir: string): Omit<PackagedService, 'dir' | 'packageMs'> {
  const template = JSON.parse(readFileSync(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8')) as { Resources: Record<string, Resource> };
  const resources = Object.entries(template.Resources);
  const aliasOf = new Map<string, string>();
  const functions: DeployedFunction[] = [];
  for (const [logicalId, { Type, Properties: p }] of resources) {
    if (Type !== 'AWS::Lambda::Function') continue;
    const zip = basename(String(p.Code.S3Key));
    const alias = zip.replace(/\.zip$/, '');
    aliasOf.set(logicalId, alias);
    functions.push({
      alias,
      name: String(p.FunctionName),
      handler: String(p.Handler),
      runtime: String(p.Runtime),
      memoryMb: Number(p.MemorySize),
      timeoutSeconds: Number(p.Timeout),
      environment: Object.fromEntries(Object.entries(p.Environment?.Variables ?? {}).map(([k, v]) => [k, String(v)])),
      zip: join(outDir, zip),
    });
  }
  const integrationTarget = new Map<string, string>();
  for (const [logicalId, { Type, Properties: p }] of resources) {
    if (Type === 'AWS::ApiGatewayV2::Integration') integrationTarget.set(logicalId, aliasOf.get(p.IntegrationUri['Fn::GetAtt'][0])!);
  }
  const routes: DeployedRoute[] = [];
  for (const [, { Type, Properties: p }] of resources) {
    if (Type !== 'AWS::ApiGatewayV2::Route') continue;
    const [method, path] = String(p.RouteKey).split(' ');
    const integration = (p.Target['Fn::Join'][1] as unknown[]).find((part) => typeof part === 'object') as { Ref: string };
    routes.push({ method, path, target: integrationTarget.get(integration.Ref)! });
  }
  return { functions, routes };
}
