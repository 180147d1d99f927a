// Invokes a Lambda handler with an API Gateway HTTP API (v2) event, the way API Gateway and
// serverless-offline call it, and captures the JSON log lines it writes.
import { randomBytes, randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

export interface Call {
  method: string;
  path: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  /** raw body text, for malformed input */
  rawBody?: string;
  /** bytes sent base64-encoded, as API Gateway passes a binary body */
  binaryBody?: Buffer;
  form?: Record<string, string>;
  pathParameters?: Record<string, string>;
  /** requestContext.authorizer: what API Gateway verified (e.g. `{ iam: { userArn, accountId } }` on an AWS_IAM route) */
  authorizer?: Record<string, unknown>;
  /** the connection's address (requestContext.http.sourceIp); default: a fresh one per call, so that the login
   * throttle's per-address counters only count what a test means them to */
  sourceIp?: string;
  /** cookies as API Gateway v2 passes them (event.cookies) */
  cookies?: string[];
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  /** the Set-Cookie values (API Gateway v2 answers carry them apart from the headers) */
  cookies: string[];
  text: string;
  json: any;
}

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

/** An address of 198.18.0.0/15 (set aside for benchmarks: never a real client's), a new one per call. */
export const freshSourceIp = () => {
  const [a, b, c] = randomBytes(3);
  return `198.${18 + (a & 1)}.${b}.${c}`;
};

export function apiGatewayEvent(call: Call): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = { 'x-request-id': randomUUID(), ...lower(call.headers ?? {}) };
  let body: string | undefined = call.rawBody;
  if (call.body !== undefined) {
    body = JSON.stringify(call.body);
    headers['content-type'] ??= 'application/json';
  } else if (call.form) {
    body = new URLSearchParams(call.form).toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  }
  if (call.binaryBody) body = call.binaryBody.toString('base64');
  const rawQueryString = new URLSearchParams(call.query ?? {}).toString();
  return {
    version: '2.0',
    routeKey: `${call.method} ${call.path}`,
    rawPath: call.path,
    rawQueryString,
    headers,
    queryStringParameters: call.query,
    pathParameters: call.pathParameters,
    body,
    cookies: call.cookies,
    isBase64Encoded: call.binaryBody !== undefined,
    requestContext: {
      ...(call.authorizer ? { authorizer: call.authorizer as never } : {}),
      accountId: 'offline',
      apiId: 'test',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method: call.method, path: call.path, protocol: 'HTTP/1.1', sourceIp: call.sourceIp ?? freshSourceIp(), userAgent: 'jest' },
      requestId: randomUUID(),
      routeKey: `${call.method} ${call.path}`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
  };
}

function lower(headers: Record<string, string>) {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

const context = { functionName: 'test', awsRequestId: 'test', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

export async function invoke(handler: Handler, call: Call): Promise<Answer> {
  const result = (await handler(apiGatewayEvent(call), context)) as APIGatewayProxyStructuredResultV2;
  const text = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64').toString() : (result.body ?? '');
  const headers = lower(Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)])));
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: result.statusCode ?? 200, headers, cookies: result.cookies ?? [], text, json };
}

/** Collects the JSON log lines written to stdout while it is active. */
export function captureLogs() {
  const lines: Record<string, any>[] = [];
  const raw: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
    const text = chunk.toString();
    raw.push(text);
    for (const line of text.split('\n').filter(Boolean)) {
      try {
        lines.push(JSON.parse(line));
      } catch {
        original(line + '\n');
      }
    }
    return true;
  }) as typeof process.stdout.write);
  return {
    lines,
    raw,
    events: (name: string) => lines.filter((l) => l.event === name),
    restore: () => spy.mockRestore(),
  };
}
