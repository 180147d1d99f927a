// Who a weather lookup is for, as the weather service's per-caller quotas count it (docs/weather-service.md).
import { isIP } from 'node:net';
import type { FastifyReply } from 'fastify';

// The weather service's own names for these (functions/weather/caller-quota.ts); it trusts them only with the credential.
const CALLER_USER_HEADER = 'x-weather-caller-user';
const CALLER_ADDRESS_HEADER = 'x-weather-caller-address';

interface GatewayEvent {
  headers?: Record<string, string | undefined>;
  /** HTTP API (v2): http.sourceIp; REST API (v1): identity.sourceIp. */
  requestContext?: { http?: { sourceIp?: string }; identity?: { sourceIp?: string } };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/**
 * The client's address: the peer API Gateway saw (sourceIp). A loopback peer is the local ingress (HAProxy, which
 * `option forwardfor` makes append the address it saw last to X-Forwarded-For): that address then. A stand-in until
 * the route context carries the client address (layers/http): replace this function with it.
 */
export function clientAddress(reply: FastifyReply): string | undefined {
  const event = (reply.request as unknown as { awsLambda?: { event?: GatewayEvent } }).awsLambda?.event;
  const peer = event?.requestContext?.http?.sourceIp ?? event?.requestContext?.identity?.sourceIp;
  if (!peer || isIP(peer) === 0) return undefined;
  if (!LOOPBACK.test(peer)) return peer;
  const forwarded = event?.headers?.['x-forwarded-for']?.split(',').pop()?.trim();
  return forwarded && isIP(forwarded) !== 0 ? forwarded : peer;
}

/** The headers that name the caller to the weather service: the user's id and, when known, the client's address. */
export function callerHeaders(userId: string, reply: FastifyReply): Record<string, string> {
  const address = clientAddress(reply);
  return { [CALLER_USER_HEADER]: userId, ...(address ? { [CALLER_ADDRESS_HEADER]: address } : {}) };
}
