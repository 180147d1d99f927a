// What API Gateway does on a route with AWS_IAM authorization, for the tier's gateway stand-in: verify the
// request's SigV4 signature, then the caller's permission to execute-api:Invoke the request's ARN. The signature
// is recomputed with @smithy/signature-v4 (the AWS SDK's signer), not with aws4, which the backend signs with:
// two implementations have to agree, as the backend's and API Gateway's do.
import { createHash, createHmac, randomBytes, timingSafeEqual, type BinaryLike } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { PolicyStatement } from './package-services';

export interface AwsCredential {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** A caller IAM knows: its credential, who it is, and what its role's policies allow. */
export interface IamPrincipal {
  credential: AwsCredential;
  /** `arn:aws:sts::<account>:assumed-role/<role>/<session>`, as requestContext.authorizer.iam.userArn names it */
  userArn: string;
  /** `<role id>:<session>` */
  userId: string;
  accountId: string;
  statements: PolicyStatement[];
}

/** Temporary credentials as Lambda hands a function's role (access key ids of temporary credentials start ASIA). */
export function fakeCredential(): AwsCredential {
  const id = Array.from(randomBytes(16), (b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32]).join('');
  return { accessKeyId: `ASIA${id}`, secretAccessKey: randomBytes(30).toString('base64'), sessionToken: randomBytes(96).toString('base64') };
}

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData): BinaryLike => (data instanceof ArrayBuffer ? new Uint8Array(data) : (data as BinaryLike));

/** The SHA-256 and HMAC the signer asks for, on node:crypto. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
/** API Gateway refuses a signature dated more than five minutes from its clock. */
const MAX_SKEW_MS = 5 * 60 * 1000;

export interface SignedRequest {
  method: string;
  /** path and query as sent on the wire */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const single = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join(',') : value);

/** The principal whose valid signature the request carries, or why there is none. */
export async function verifySignature(
  req: SignedRequest,
  principals: ReadonlyMap<string, IamPrincipal>,
  scope: { region: string; service: string },
): Promise<{ principal: IamPrincipal } | { refused: string }> {
  const match = AUTHORIZATION.exec(single(req.headers.authorization) ?? '');
  if (!match) return { refused: 'no SigV4 Authorization header' };
  const [, accessKeyId, day, region, service, signedList, signature] = match;
  if (region !== scope.region || service !== scope.service) return { refused: `signed for ${region}/${service}` };
  const amzDate = single(req.headers['x-amz-date']) ?? '';
  const when = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!when || amzDate.slice(0, 8) !== day) return { refused: 'no valid X-Amz-Date' };
  const signingDate = new Date(Date.UTC(+when[1], +when[2] - 1, +when[3], +when[4], +when[5], +when[6]));
  if (Math.abs(Date.now() - signingDate.getTime()) > MAX_SKEW_MS) return { refused: 'signature expired' };
  const principal = principals.get(accessKeyId);
  if (!principal) return { refused: 'unknown access key' };
  const signed = signedList.split(';');
  if (
    !signed.includes('host') ||
    single(req.headers['x-amz-security-token']) !== principal.credential.sessionToken ||
    !signed.includes('x-amz-security-token')
  ) {
    return { refused: 'host or session token not signed' };
  }
  const [path, query = ''] = req.url.split('?', 2);
  const headers = Object.fromEntries(signed.map((name) => [name, single(req.headers[name]) ?? '']));
  const signer = new SignatureV4({ credentials: principal.credential, region, service, sha256: NodeSha256, applyChecksum: false, uriEscapePath: true });
  const recomputed = await signer.sign(
    {
      method: req.method,
      protocol: 'https:',
      hostname: headers.host,
      path,
      query: Object.fromEntries(new URLSearchParams(query)),
      headers,
      body: req.body.length ? req.body : undefined,
    },
    { signingDate, signableHeaders: new Set(signed) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(recomputed.headers.authorization))![1];
  const sameHeaders = /SignedHeaders=([a-z0-9;-]+)/.exec(String(recomputed.headers.authorization))![1] === signedList;
  if (!sameHeaders || !timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) return { refused: 'signature does not match' };
  return { principal };
}

/** IAM's wildcard match of a policy's action or resource (`*` any run of characters, `?` one). */
function wildcard(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}

/** Whether the principal's policies allow execute-api:Invoke on the request's ARN (no Deny statement is written here). */
export function mayInvoke(principal: IamPrincipal, requestArn: string): boolean {
  const allows = (s: PolicyStatement) => s.actions.some((a) => wildcard(a, 'execute-api:Invoke', true)) && s.resources.some((r) => wildcard(r, requestArn));
  if (principal.statements.some((s) => s.effect === 'Deny' && allows(s))) return false;
  return principal.statements.some((s) => s.effect === 'Allow' && allows(s));
}
