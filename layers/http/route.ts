// A route spec: what one endpoint accepts, answers and needs; the app factory turns it into a fastify route.
import type { Static, TSchema } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RequestLogger } from './logger';

type Maybe<S> = S extends TSchema ? Static<S> : undefined;
export type AuthMode = 'required' | 'none';

export interface RouteSchema {
  body?: TSchema;
  querystring?: TSchema;
  params?: TSchema;
  response: Record<number, TSchema>;
}

export interface RouteContext<S extends RouteSchema, A extends AuthMode, U = never> {
  body: Maybe<S['body']>;
  query: Maybe<S['querystring']>;
  params: Maybe<S['params']>;
  /** The authenticated caller (the service's `authenticate` decides what that is). */
  user: A extends 'required' ? U : undefined;
  headers: FastifyRequest['headers'];
  /** The caller's IP address in canonical form (layers/http/client-address.ts): the connection's, or the edge's word for it. */
  clientAddress: string;
  log: RequestLogger;
  reply: FastifyReply;
}

export interface RouteSpec<S extends RouteSchema = RouteSchema, A extends AuthMode = AuthMode, U = never> {
  method: 'GET' | 'POST' | 'DELETE';
  /** fastify path syntax: /user/:user_id */
  url: string;
  summary: string;
  description?: string;
  tags: string[];
  auth: A;
  schema: S;
  /** Status of a successful answer (default 200). */
  status?: number;
  /** Problem statuses this operation can answer beyond the ones derived from the spec. */
  errors?: number[];
  /** Also accept application/x-www-form-urlencoded bodies. */
  forms?: boolean;
  /** Whether the handler touches the database (adds 503 to the documented answers). Default true. */
  database?: boolean;
  handle(ctx: RouteContext<S, A, U>): Promise<unknown>;
}

/** Any route, whatever its schema and user type (lists of routes, the app factory). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a list mixes routes of different schemas
export type AnyRoute = RouteSpec<any, AuthMode, any>;

/** Typed identity: lets a route file declare its spec with inferred body/query/params types. */
export function route<S extends RouteSchema, A extends AuthMode>(spec: RouteSpec<S, A>): RouteSpec<S, A> {
  return spec;
}
