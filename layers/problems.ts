// The problem model (RFC 9457): every failure leaves as application/problem+json, never with a stack trace.
// At the bottom of layers/: auth and the services raise these without depending on the http layer.
import { Type } from '@sinclair/typebox';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export const Problem = Type.Object(
  {
    type: Type.Optional(Type.String({ description: 'URI reference of the problem type (about:blank)' })),
    title: Type.String({ description: 'Short summary of the problem type' }),
    status: Type.Integer({ description: 'HTTP status code' }),
    detail: Type.String({ description: 'Explanation specific to this occurrence' }),
    request_id: Type.Optional(Type.String()),
  },
  { $id: 'Problem', title: 'Problem (RFC 9457)' },
);

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function statusTitle(status: number): string {
  return TITLES[status] ?? (status < 500 ? 'Bad Request' : 'Internal Server Error');
}

/** An error that knows how it should be answered. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }
}

export const badRequest = (detail: string) => new HttpProblem(400, detail);
export const unauthorized = (detail: string) => new HttpProblem(401, detail, { 'www-authenticate': 'Bearer' });
export const forbidden = (detail: string) => new HttpProblem(403, detail);
export const notFound = (detail: string) => new HttpProblem(404, detail);
export const conflict = (detail: string) => new HttpProblem(409, detail);

export function problemBody(status: number, detail: string, requestId?: string) {
  return { type: 'about:blank', title: statusTitle(status), status, detail, ...(requestId ? { request_id: requestId } : {}) };
}
