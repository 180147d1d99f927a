// Only the app backend may call the weather service. On stage local it proves it with a shared token
// (X-Service-Token; two accepted values, so the token rotates without an outage); deployed, API Gateway has verified
// its SigV4 signature (AWS_IAM on the route) and the function checks that the signer is the backend's role.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { IamRole } from '../../layers/config/env';
import type { Authentication } from '../../layers/http/app';
import { HttpProblem } from '../../layers/problems';

/** The request header carrying WEATHER_SERVICE_TOKEN (the backend's weather proxy sets it on stage local). */
export const SERVICE_TOKEN_HEADER = 'x-service-token';

// Digests have equal lengths, so the comparison takes the same time whatever was sent.
const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * A request is the backend's when it carries one of the accepted tokens (current and, during a rotation, next). The
 * tokens are read on first use (a missing setting throws its ConfigError: 503, logged once), their digests once per process.
 */
export function serviceTokenCheck(acceptedTokens: () => readonly string[]): (headers: IncomingHttpHeaders) => string {
  let accepted: Buffer[] | undefined;
  return (headers) => {
    const sent = headers[SERVICE_TOKEN_HEADER];
    accepted ??= acceptedTokens().map(digest);
    // A repeated header arrives as an array (or joined by a comma) and never matches: refused like a wrong one.
    const sentDigest = typeof sent === 'string' ? digest(sent) : undefined;
    // Every accepted value is compared, so the time does not tell which one (if any) matched.
    const matched = accepted.map((expected) => sentDigest !== undefined && timingSafeEqual(sentDigest, expected));
    if (!matched.includes(true)) {
      throw new HttpProblem(401, `the weather service answers only the app backend: a valid ${SERVICE_TOKEN_HEADER} header is required`, {
        'www-authenticate': 'ServiceToken realm="weather-service"',
      });
    }
    return 'app-backend';
  };
}

/** What API Gateway puts in an AWS_IAM route's event about the verified signer. */
interface IamAuthorizer {
  accountId?: unknown;
  userArn?: unknown;
}

// The ARN of a role session, as STS names the signer of a Lambda function's requests: assumed-role/<role>/<session>.
const ASSUMED_ROLE = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/[\w+=,.@-]{1,64}$/;

/**
 * A request is the backend's when API Gateway verified its signature (requestContext.authorizer.iam is present only
 * then) and the signer is a session of the backend's role in the expected account. IAM already required the
 * signer's policy to allow execute-api:Invoke; this check also refuses other principals that may (an administrator's).
 */
export function iamCallerCheck(backendRole: () => IamRole): (event: unknown) => string {
  return (event) => {
    const iam = (event as { requestContext?: { authorizer?: { iam?: IamAuthorizer } } } | undefined)?.requestContext?.authorizer?.iam;
    if (!iam || typeof iam.userArn !== 'string') {
      throw new HttpProblem(401, "the weather service answers only the app backend: a request signed with the backend's role (SigV4) is required", {
        'www-authenticate': 'AWS4-HMAC-SHA256',
      });
    }
    const role = backendRole();
    const signer = ASSUMED_ROLE.exec(iam.userArn);
    const isBackend = signer && signer[1] === role.partition && signer[2] === role.accountId && iam.accountId === role.accountId && signer[3] === role.name;
    if (!isBackend) throw new HttpProblem(403, "the weather service answers only the app backend's role");
    return 'app-backend';
  };
}

/** The weather service's authentication: the token on stage local, the IAM signer everywhere else. */
export function backendCredential(parts: { isLocal: () => boolean; tokens: () => readonly string[]; backendRole: () => IamRole }): Authentication {
  const byToken = serviceTokenCheck(parts.tokens);
  const bySignature = iamCallerCheck(parts.backendRole);
  return { scheme: 'ServiceToken', authenticate: (headers, event) => (parts.isLocal() ? byToken(headers) : bySignature(event)) };
}
