// `sls package` of one service for a non-local stage into a directory of its own, and what its
// CloudFormation template says about each function (handler, environment, zip), each API route (a REST API's
// resources and methods, or an HTTP API's route keys), its role's statements and its exports.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { runSls } from '../../support/sls-cli';

export const ROOT = join(__dirname, '..', '..', '..');

/** What CloudFormation would resolve in a template: pseudo parameters and the other stacks' exports. */
export interface TemplateContext {
  accountId: string;
  region: string;
  /** `Fn::ImportValue` name → value (an unknown name fails, as a deploy would) */
  imports: Record<string, string>;
}

export const ACCOUNT_ID = '000000000000';
export const REGION = 'eu-west-1';

export interface DeployedFunction {
  /** the key in serverless.yml (`register`) */
  alias: string;
  /** the Lambda function name (`app-backend-ci-register`) */
  name: string;
  handler: string;
  runtime: string;
  memoryMb: number;
  timeoutSeconds: number;
  /** exactly the variables the template declares, intrinsic functions resolved */
  environment: Record<string, string>;
  zip: string;
}

export interface DeployedRoute {
  method: string;
  /** the route's path (`/user/{user_id}`), for a REST API the resource's full path */
  path: string;
  /** alias of the function the route invokes */
  target: string;
  /** REST API (payload 1.0 events) or HTTP API (payload 2.0); HTTP when absent */
  api?: 'rest' | 'http';
  /** `AWS_IAM`: API Gateway verifies a SigV4 signature and the caller's execute-api:Invoke permission */
  authorization?: string;
}

export interface PolicyStatement {
  effect: string;
  actions: string[];
  resources: string[];
}

export interface PackagedService {
  dir: string;
  api: 'rest' | 'http';
  /** the API's stage as the request ARN and event name it (`ci`, or `$default` for an HTTP API) */
  stage: string;
  /** REST API: the content types it passes to functions base64-encoded and decodes in their answers */
  binaryMediaTypes: string[];
  functions: DeployedFunction[];
  routes: DeployedRoute[];
  /** the functions' execution role: its name and the statements of its inline policies */
  role: { name: string; statements: PolicyStatement[] };
  /** export name → the output's value, unresolved */
  exports: Record<string, unknown>;
  /** the template itself, for assertions on resources the tier does not run */
  template: Template;
  packageMs: number;
}

type Resource = { Type: string; Properties: Record<string, any>; Condition?: string; DependsOn?: string[] };
export type Template = {
  Resources: Record<string, Resource>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
  Conditions?: Record<string, unknown>;
};

/** Packages serviceDir (the folder of its serverless.yml) into outDir; env is the packaging environment. */
export async function packageService(
  serviceDir: string,
  outDir: string,
  stage: string,
  env: NodeJS.ProcessEnv,
  context: Partial<TemplateContext> = {},
): Promise<PackagedService> {
  const started = Date.now();
  try {
    await runSls(serviceDir, ['package', '--stage', stage, '--package', outDir], env, `.esbuild-deployed-${process.pid}-${basename(outDir)}`, 0);
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`sls package failed in ${serviceDir}:\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
  return { ...readTemplate(outDir, context), dir: outDir, packageMs: Date.now() - started };
}

/** Resolves the intrinsic functions a function's environment or a policy may hold, as CloudFormation would. */
export function resolveValue(value: unknown, context: TemplateContext): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  const v = value as Record<string, any>;
  if (v?.Ref === 'AWS::AccountId') return context.accountId;
  if (v?.Ref === 'AWS::Region') return context.region;
  if (v?.Ref === 'AWS::Partition') return 'aws';
  if (v?.Ref === 'AWS::URLSuffix') return 'amazonaws.com';
  if (v?.['Fn::Join']) return (v['Fn::Join'][1] as unknown[]).map((part) => resolveValue(part, context)).join(v['Fn::Join'][0]);
  if (v?.['Fn::ImportValue'] !== undefined) {
    const name = resolveValue(v['Fn::ImportValue'], context);
    if (!(name in context.imports)) throw new Error(`the template imports ${name}, which no stack of the tier exports`);
    return context.imports[name];
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** The function a REST method or an HTTP API integration invokes (`{ 'Fn::GetAtt': [logicalId, 'Arn'] }` in its URI). */
function invokedFunction(uri: any): string {
  const parts = uri?.['Fn::Join'] ? (uri['Fn::Join'][1] as unknown[]) : [uri];
  const target = parts.find((part) => typeof part === 'object' && part && 'Fn::GetAtt' in part) as { 'Fn::GetAtt': [string, string] };
  return target['Fn::GetAtt'][0];
}

/** A REST API's methods with the full path of their resource (resources name their parent and their own part). */
function restRoutes(resources: [string, Resource][], aliasOf: Map<string, string>): DeployedRoute[] {
  const parts = new Map(resources.filter(([, r]) => r.Type === 'AWS::ApiGateway::Resource').map(([id, r]) => [id, r.Properties]));
  const pathOf = (ref: any): string => {
    if (ref?.['Fn::GetAtt']?.[1] === 'RootResourceId') return '';
    const resource = parts.get(ref.Ref)!;
    return `${pathOf(resource.ParentId)}/${resource.PathPart}`;
  };
  return resources
    .filter(([, r]) => r.Type === 'AWS::ApiGateway::Method')
    .map(([, { Properties: p }]) => ({
      method: String(p.HttpMethod),
      path: pathOf(p.ResourceId) || '/',
      target: aliasOf.get(invokedFunction(p.Integration.Uri))!,
      api: 'rest' as const,
      authorization: String(p.AuthorizationType ?? 'NONE'),
    }));
}

function httpRoutes(resources: [string, Resource][], aliasOf: Map<string, string>): DeployedRoute[] {
  const integrationTarget = new Map<string, string>();
  for (const [logicalId, { Type, Properties: p }] of resources) {
    if (Type === 'AWS::ApiGatewayV2::Integration') integrationTarget.set(logicalId, aliasOf.get(invokedFunction(p.IntegrationUri))!);
  }
  return resources
    .filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Route')
    .map(([, { Properties: p }]) => {
      const [method, path] = String(p.RouteKey).split(' ');
      const integration = (p.Target['Fn::Join'][1] as unknown[]).find((part) => typeof part === 'object') as { Ref: string };
      return { method, path, target: integrationTarget.get(integration.Ref)!, api: 'http' as const, authorization: String(p.AuthorizationType ?? 'NONE') };
    });
}

/** The functions' execution role (osls's IamRoleLambdaExecution): its name and inline statements, resolved. */
function executionRole(resources: Record<string, Resource>, context: TemplateContext): PackagedService['role'] {
  const role = resources.IamRoleLambdaExecution?.Properties;
  if (!role) return { name: '', statements: [] };
  const statements = (role.Policies ?? []).flatMap((policy: any) =>
    asList(policy.PolicyDocument.Statement).map((s: any) => ({
      effect: String(s.Effect),
      actions: asList(s.Action).map(String),
      resources: asList(s.Resource).flatMap((r) => {
        try {
          return [resolveValue(r, context)];
        } catch {
          return []; // a resource of another stack the tier does not stand in for (log groups' ARNs and such)
        }
      }),
    })),
  );
  return { name: resolveValue(role.RoleName, context), statements };
}

/** The functions, routes, role and exports of a packaged service, from its CloudFormation template. */
export function readTemplate(outDir: string, given: Partial<TemplateContext> = {}): Omit<PackagedService, 'dir' | 'packageMs'> {
  const context: TemplateContext = { accountId: ACCOUNT_ID, region: REGION, imports: {}, ...given };
  const template = JSON.parse(readFileSync(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
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
      environment: Object.fromEntries(Object.entries(p.Environment?.Variables ?? {}).map(([k, v]) => [k, resolveValue(v, context)])),
      zip: join(outDir, zip),
    });
  }
  const restApi = resources.find(([, r]) => r.Type === 'AWS::ApiGateway::RestApi')?.[1];
  const deployment = resources.find(([, r]) => r.Type === 'AWS::ApiGateway::Deployment')?.[1];
  const exports = Object.fromEntries(
    Object.values(template.Outputs ?? {})
      .filter((o) => o.Export)
      .map((o) => [resolveValue(o.Export!.Name, context), o.Value]),
  );
  return {
    api: restApi ? 'rest' : 'http',
    stage: restApi ? String(deployment?.Properties.StageName) : '$default',
    binaryMediaTypes: (restApi?.Properties.BinaryMediaTypes as string[] | undefined) ?? [],
    functions,
    routes: restApi ? restRoutes(resources, aliasOf) : httpRoutes(resources, aliasOf),
    role: executionRole(template.Resources, context),
    exports,
    template,
  };
}
