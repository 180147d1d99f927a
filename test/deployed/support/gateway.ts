// An HTTP API (API Gateway v2) stand-in: real HTTP in, route matching by the template's route keys,
// payload-format 2.0 events to the function containers, their structured results back as HTTP answers.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FunctionContainer } from './function-container';
import type { DeployedRoute } from './package-services';

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

function headerMap(req: IncomingMessage): { headers: Record<string, string>; cookies?: string[] } {
  const headers: Record<string, string> = {};
  // API Gateway joins repeated headers with commas; cookies travel apart.
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    headers[name] = name in headers ? `${headers[name]},${req.rawHeaders[i + 1]}` : req.rawHeaders[i + 1];
  }
  const cookies = headers.cookie?.split(/;\s*/).filter(Boolean);
  delete headers.cookie;
  return { headers, cookies };
}

export function httpApiEvent(req: IncomingMessage, route: CompiledRoute, match: RegExpExecArray, body: Buffer) {
  const url = new URL(req.url ?? '/', 'http://gateway');
  const { headers, cookies } = headerMap(req);
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const pathParameters = Object.fromEntries(route.params.map((name, i) => [name, decodeURIComponent(match[i + 1])]));
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
    ...(route.params.length ? { pathParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'deployed',
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

type Result = { statusCode?: number; headers?: Record<string, unknown>; cookies?: string[]; body?: string; isBase64Encoded?: boolean };

function answer(res: ServerResponse, payload: unknown): void {
  // Payload format 2.0: a result without statusCode is a 200 JSON body.
  const result: Result =
    payload && typeof payload === 'object' && 'statusCode' in payload
      ? (payload as Result)
      : { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) };
  const headers: Record<string, string | string[]> = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)]));
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(result.body === undefined ? undefined : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8'));
}

function gatewayError(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ message }));
}

export class Gateway {
  private server?: Server;
  private routes: CompiledRoute[] = [];
  private containers = new Map<string, FunctionContainer>();
  url = '';

  /** Listens first (the URL goes into the other service's template), routes are attached once packaged. */
  async listen(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  attach(routes: DeployedRoute[], containers: FunctionContainer[]): void {
    this.routes = routes.map(compile).sort((a, b) => a.rank - b.rank);
    for (const container of containers) this.containers.set(container.fn.alias, container);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY) return gatewayError(res, 413, 'Request Entity Too Large');
      chunks.push(chunk);
    }
    const path = new URL(req.url ?? '/', 'http://gateway').pathname;
    let found: { route: CompiledRoute; match: RegExpExecArray } | undefined;
    for (const route of this.routes) {
      const match = route.pattern.exec(path);
      if (match && (route.method === req.method || route.method === '*' || route.method === 'ANY')) {
        found = { route, match };
        break;
      }
    }
    if (!found) return gatewayError(res, 404, 'Not Found');
    const result = await this.containers.get(found.route.target)!.invoke(httpApiEvent(req, found.route, found.match, Buffer.concat(chunks)));
    // A function error or crash is API Gateway's bare 500, as deployed.
    if (!result.ok) return gatewayError(res, 500, 'Internal Server Error');
    answer(res, result.payload);
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)));
  }
}
