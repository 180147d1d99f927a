// Who is calling: the address every route is handed. Never the left-most X-Forwarded-For (a client writes that
// itself): the connection's address, or, behind an edge that proves itself with a secret header, the address
// header that edge sets from its own connection.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { canonicalAddress } from '../ip-address';
import { HttpProblem } from '../problems';

/** An edge in front of the functions that tells them the client's address, and proves with a secret that it is that edge. */
export interface Edge {
  /** the request header carrying the proof (lower case) */
  proofHeader: string;
  /** the accepted proofs (more than one while a secret is rotated) */
  proofs: readonly string[];
  /** the request header the edge sets to the client's address (lower case) */
  addressHeader: string;
  /** the client's address in that header's value, or undefined unless it holds exactly one */
  addressIn(value: string): string | undefined;
}

let lastHaproxyEdge: Edge | undefined;

/** The local runner's HAProxy (haproxy.cfg): X-Edge-Proof is EDGE_PROOF_SECRET, X-Forwarded-For the one address it set. */
export function haproxyEdge(secret: string | undefined): Edge | undefined {
  if (!secret) return undefined;
  // Asked once per request with the same setting: the same edge (and so its proofs' digests, made once).
  if (lastHaproxyEdge?.proofs[0] !== secret) {
    lastHaproxyEdge = { proofHeader: 'x-edge-proof', proofs: [secret], addressHeader: 'x-forwarded-for', addressIn: canonicalAddress };
  }
  return lastHaproxyEdge;
}

// Digests have equal lengths, so the comparison takes the same time whatever was sent.
const digest = (value: string) => createHash('sha256').update(value).digest();
const proofDigests = new WeakMap<Edge, Buffer[]>();

const notThroughTheEdge = () => new HttpProblem(403, 'requests must come through the edge');

function proved(headers: IncomingHttpHeaders, edge: Edge): boolean {
  const sent = headers[edge.proofHeader];
  // A repeated header arrives as an array (or joined by a comma) and never matches.
  if (typeof sent !== 'string') return false;
  let expected = proofDigests.get(edge);
  if (!expected) proofDigests.set(edge, (expected = edge.proofs.map(digest)));
  const got = digest(sent);
  return expected.map((proof) => timingSafeEqual(got, proof)).includes(true);
}

/**
 * The caller's canonical address. Without an edge: the connection's (the Lambda event's
 * requestContext.http.sourceIp, or requestContext.identity.sourceIp for REST payloads, which @fastify/aws-lambda
 * hands fastify as the request's address). With one: 403 unless the request carries its proof, 400 unless its
 * address header holds exactly one address.
 */
export function clientAddress(request: { headers: IncomingHttpHeaders; ip: string }, edge: Edge | undefined): string {
  if (!edge) return canonicalAddress(request.ip) ?? request.ip;
  if (!proved(request.headers, edge)) throw notThroughTheEdge();
  const forwarded = request.headers[edge.addressHeader];
  const address = typeof forwarded === 'string' ? edge.addressIn(forwarded) : undefined;
  if (!address) throw new HttpProblem(400, `the edge's ${edge.addressHeader} header does not hold exactly one client address`);
  return address;
}
