// How the backend's weather proxy proves itself to the weather service (docs/deploying.md): on stage local the
// shared X-Service-Token; deployed, a SigV4 signature made with its Lambda role's credentials, which API Gateway
// verifies (AWS_IAM on the weather route) before the weather function runs.
import aws4 from 'aws4';
import { awsCredentials, isLocalStage, serviceToken } from '../deps';

// The weather service's own check of this credential: functions/weather/service-credential.ts (docs/weather-service.md).
const SERVICE_TOKEN_HEADER = 'x-service-token';

/** The headers of a GET of `url` with the backend's credential; every header given is part of what is signed. */
export function withWeatherCredential(url: string, headers: Record<string, string>): Record<string, string> {
  if (isLocalStage()) return { ...headers, [SERVICE_TOKEN_HEADER]: serviceToken() };
  const { region, ...credentials } = awsCredentials();
  const { host, pathname, search } = new URL(url);
  const signed = aws4.sign({ host, path: `${pathname}${search}`, method: 'GET', service: 'execute-api', region, headers: { ...headers } }, credentials);
  return signed.headers as Record<string, string>;
}
