// An API Gateway stand-in: real HTTP in, the template's routes matched as API Gateway matches them (a REST API's
// resources then methods, or an HTTP API's route keys), payload 1.0 (REST) or 2.0 (HTTP API) events to the function
// containers, their structured results back as HTTP answers. A route with AWS_IAM authorization needs a valid SigV4
// signature of a principal allowed to execute-api:Invoke it (sigv4.ts), as API Gateway requires.
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FunctionContainer } from './function-container';
import { ACCOUNT_ID, REGION, type DeployedRoute, type PackagedService } from './package-services';
import { mayInvoke, verifySignature, type IamPrincipal } from './sigv4';

/** API Gateway's payload limit. */
const MAX_BODY = 10 * 1024 * 1024;
const TEXT_TYPES = /^(text\/|application\/(json|problem\+json|x-www-form-urlencoded|xml|javascript))/i;

interface CompiledRoute extends DeployedRoute {
  key: string;
  pattern: RegExp;
  params: string[];
  /** API Gateway picks the most specific match: literal paths, then parameters, then greedy ones; a method before ANY */
  rank: number;
}

type Api = Pick<PackagedService, 'api' | 'stage' | 'binaryMediaTypes'>;

/** What requestContext.authorizer.iam holds for a caller API Gateway verified. */
type IamContext = Record<string, string | null>;

function compile(route: DeployedRoute): CompiledRoute {
  const params: string[] = [];
  const segments = route.path.split('/').filter(Boolean);
  const source = segments
    .map((segment) => {
      const param = /^\{([^}+]+)(\+?)\}$/.exec(segment);
      if (!param) return `/${segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
      params.push(param[1]);
      return param[2] ? '/(.+)' : '/([^/]+)';
    })
    .join('');
  const literals = segments.filter((s) => !s.startsWith('{')).length;
  const greedy = route.path.includes('+}') ? 1 : 0;
  const rank = greedy * 10_000 - literals * 100 - segments.length + (route.method === 'ANY' || route.method === '*' ? 1 : 0);
  return { ...route, key: `${route.method} ${route.path}`, pattern: new RegExp(`^${source || '/'}$`), params, rank };
}

const anyMethod = (route: DeployedRoute) => route.method === 'ANY' || route.method === '*';

function headerMap(req: IncomingMessage): { headers: Record<string, string>; cookies?: string[] } {
  const headers: Record<string, string> = {};
  // An HTTP API joins repeated headers with commas; cookies travel apart.
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    headers[name] = name in headers ? `${headers[name]},${req.rawHeaders[i + 1]}` : req.rawHeaders[i + 1];
  }
  const cookies = headers.cookie?.split(/;\s*/).filter(Boolean);
  delete headers.cookie;
  return { headers, cookies };
}

const pathParameters = (route: CompiledRoute, match: RegExpExecArray) =>
  Object.fromEntries(route.params.map((name, i) => [name, decodeURIComponent(match[i + 1])]));

export function httpApiEvent(req: IncomingMessage, route: CompiledRoute, match: RegExpExecArray, body: Buffer, iam?: IamContext) {
  const url = new URL(req.url ?? '/', 'http://gateway');
  const { headers, cookies } = headerMap(req);
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const text = body.length === 0 || TEXT_TYPES.test(headers['content-type'] ?? '');
  const now = new Date();
  return {
    version: '2.0',
    routeKey: route.key,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies?.length ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(route.params.length ? { pathParameters: pathParameters(route, match) } : {}),
    requestContext: {
      accountId: ACCOUNT_ID,
      apiId: 'deployed',
      ...(iam ? { authorizer: { iam } } : {}),
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'deployed',
      http: { method: req.method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: req.socket.remoteAddress ?? '', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey: route.key,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length ? { body: text ? body.toString() : body.toString('base64') } : {}),
    isBase64Encoded: !text,
  };
}

const binaryType = (api: Api, type: string | undefined) =>
  !!type && api.binaryMediaTypes.some((t) => t === '*/*' || type.split(';')[0].trim().toLowerCase() === t);

/** Payload format 1.0, as a REST API's Lambda proxy integration sends it: every value of a header and a query key apart. */
export function restApiEvent(req: IncomingMessage, route: CompiledRoute, match: RegExpExecArray, body: Buffer, api: Api) {
  const url = new URL(req.url ?? '/', 'http://gateway');
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) (multiValueHeaders[req.rawHeaders[i]] ??= []).push(req.rawHeaders[i + 1]);
  const multiValueQuery: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) (multiValueQuery[k] ??= []).push(v);
  const last = (values: Record<string, string[]>) => Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v[v.length - 1]]));
  const headers = last(multiValueHeaders);
  const contentType = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
  const binary = body.length > 0 && binaryType(api, contentType);
  const hasQuery = Object.keys(multiValueQuery).length > 0;
  const now = new Date();
  return {
    resource: route.path,
    path: url.pathname,
    httpMethod: req.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? last(multiValueQuery) : null,
    multiValueQueryStringParameters: hasQuery ? multiValueQuery : null,
    pathParameters: route.params.length ? pathParameters(route, match) : null,
    stageVariables: null,
    requestContext: {
      accountId: ACCOUNT_ID,
      apiId: 'deployed',
      domainName: headers.host ?? headers.Host ?? 'localhost',
      httpMethod: req.method,
      identity: {
        sourceIp: req.socket.remoteAddress ?? '',
        userAgent: headers['user-agent'] ?? headers['User-Agent'] ?? null,
        accessKey: null,
        caller: null,
        user: null,
      },
      path: `/${api.stage}${url.pathname}`,
      protocol: 'HTTP/1.1',
      requestId: randomUUID(),
      requestTime: now.toUTCString(),
      requestTimeEpoch: now.getTime(),
      resourceId: 'deployed',
      resourcePath: route.path,
      stage: api.stage,
    },
    body: body.length ? (binary ? body.toString('base64') : body.toString()) : null,
    isBase64Encoded: binary,
  };
}

type Result = {
  statusCode?: number;
  headers?: Record<string, unknown>;
  multiValueHeaders?: Record<string, unknown[]>;
  cookies?: string[];
  body?: string;
  isBase64Encoded?: boolean;
};

function answer(res: ServerResponse, payload: unknown, api: Api, accept: string | undefined): void {
  const structured = payload && typeof payload === 'object' && 'statusCode' in payload;
  // A REST API requires a proxy result with a statusCode; an HTTP API (2.0) takes anything else as a 200 JSON body.
  if (!structured && api.api === 'rest') return gatewayError(res, 502, 'Internal server error');
  const result: Result = structured ? (payload as Result) : { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) };
  const headers: Record<string, string | string[]> = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)]));
  for (const [k, v] of Object.entries(result.multiValueHeaders ?? {})) headers[k] = v.map(String);
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  // A REST API decodes a base64 answer only for its binary media types; else the client gets the base64 text.
  const type = String(result.headers?.['content-type'] ?? '');
  const decode = result.isBase64Encoded && (api.api === 'http' || binaryType(api, accept) || binaryType(api, type));
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(result.body === undefined ? undefined : Buffer.from(result.body, decode ? 'base64' : 'utf8'));
}

function gatewayError(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ message }));
}

type Found = { route: CompiledRoute; match: RegExpExecArray } | { status: number; message: string };

export class Gateway {
  private server?: Server;
  private api: Api = { api: 'http', stage: '$default', binaryMediaTypes: [] };
  private routes: CompiledRoute[] = [];
  private containers = new Map<string, FunctionContainer>();
  private principals = new Map<string, IamPrincipal>();
  /** This API's id in execute-api ARNs (exported by its stack, imported by the other's). */
  readonly apiId = randomBytes(5).toString('hex');
  url = '';

  /** Listens first (the URL goes into the other service's template), routes are attached once packaged. */
  async listen(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  attach(service: Api & Pick<PackagedService, 'routes'>, containers: FunctionContainer[]): void {
    this.api = { api: service.api, stage: service.stage, binaryMediaTypes: service.binaryMediaTypes };
    this.routes = service.routes.map(compile).sort((a, b) => a.rank - b.rank);
    for (const container of containers) this.containers.set(container.fn.alias, container);
  }

  /** A principal IAM knows (a function's role credentials): its signed requests are verified against its policies. */
  trust(principal: IamPrincipal): void {
    this.principals.set(principal.credential.accessKeyId, principal);
  }

  private find(method: string, path: string): Found {
    if (this.api.api === 'http') {
      const route = this.routes.find((r) => r.pattern.test(path) && (r.method === method || anyMethod(r)));
      return route ? { route, match: route.pattern.exec(path)! } : { status: 404, message: 'Not Found' };
    }
    // A REST API picks the most specific resource first, then a method of that resource (its own, else ANY).
    const resource = this.routes.find((r) => r.pattern.test(path));
    const ofResource = this.routes.filter((r) => r.path === resource?.path);
    const route = ofResource.find((r) => r.method === method) ?? ofResource.find(anyMethod);
    return route ? { route, match: route.pattern.exec(path)! } : { status: 403, message: 'Missing Authentication Token' };
  }

  /** AWS_IAM: the verified caller, if its policies allow execute-api:Invoke on this request's ARN. */
  private async authorize(req: IncomingMessage, body: Buffer, path: string): Promise<IamContext | undefined> {
    const verified = await verifySignature({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body }, this.principals, {
      region: REGION,
      service: 'execute-api',
    });
    if (!('principal' in verified)) return undefined;
    const { principal } = verified;
    if (!mayInvoke(principal, `arn:aws:execute-api:${REGION}:${ACCOUNT_ID}:${this.apiId}/${this.api.stage}/${req.method}${path}`)) return undefined;
    const { accessKeyId } = principal.credential;
    return {
      accessKey: accessKeyId,
      accountId: principal.accountId,
      callerId: principal.userId,
      cognitoIdentity: null,
      principalOrgId: null,
      userArn: principal.userArn,
      userId: principal.userId,
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) return gatewayError(res, 413, 'Request Entity Too Large');
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks);
    const path = new URL(req.url ?? '/', 'http://gateway').pathname;
    const found = this.find(req.method ?? 'GET', path);
    if ('status' in found) return gatewayError(res, found.status, found.message);
    const iam = found.route.authorization === 'AWS_IAM' ? await this.authorize(req, body, path) : undefined;
    if (found.route.authorization === 'AWS_IAM' && !iam) return gatewayError(res, 403, 'Forbidden');
    const event =
      this.api.api === 'rest' ? restApiEvent(req, found.route, found.match, body, this.api) : httpApiEvent(req, found.route, found.match, body, iam);
    const result = await this.containers.get(found.route.target)!.invoke(event);
    // A function error or crash is API Gateway's bare 5xx, as deployed.
    if (!result.ok) return this.api.api === 'rest' ? gatewayError(res, 502, 'Internal server error') : gatewayError(res, 500, 'Internal Server Error');
    answer(res, result.payload, this.api, req.headers.accept);
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)));
  }
}
