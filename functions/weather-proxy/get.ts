// GET /weather/{city} on the app backend: a thin HTTP client of the weather service (never its code).
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { getText, OutboundError, type OutboundAnswer } from '../../layers/http/client';
import { CityParams, WeatherReport } from '../../layers/http/schemas';
import { HttpProblem } from '../../layers/problems';
import { isLocalStage, lambda, route, settings } from '../deps';
import { callerHeaders } from './caller';
import { withWeatherCredential } from './weather-credential';

// A 200 is passed on only when it is a whole report (the response serializer would fail on anything less).
const isWeatherReport = addFormats(new Ajv({ allowUnionTypes: true })).compile(WeatherReport);

// The weather service's answers we pass on as they are (429: the caller's quota, or its balancer's ceiling);
// anything else (its 401 too) means it is not working.
const PASSED_ON = new Set([400, 404, 429, 503, 504]);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function problemDetail(text: string): string | undefined {
  const detail = (parseJson(text) as { detail?: unknown } | undefined)?.detail;
  return typeof detail === 'string' ? detail.slice(0, 500) : undefined;
}

export const weatherProxy = route({
  method: 'GET',
  url: '/weather/:city',
  summary: 'Current weather in a city',
  description:
    'Answered from the weather service cache while fresh (`cached: true`); when the provider fails, a stale entry is served with `stale: true`. Lookups of uncached cities are limited per user and per client address (429 with Retry-After; a stale entry is served instead when there is one).',
  tags: ['weather'],
  auth: 'required',
  errors: [404, 429, 504],
  schema: { params: CityParams, response: { 200: WeatherReport } },
  async handle({ params, user, clientAddress, log }) {
    const { weatherServiceUrl, weatherServiceTimeoutMs } = settings();
    const url = `${weatherServiceUrl}/weather/${encodeURIComponent(params.city)}`;
    // Outside the try: a missing credential setting is the service's 503 "not configured", not an unreachable service.
    // The caller's headers say whom the weather service charges a provider call to (its per-user and per-address quotas).
    const headers = withWeatherCredential(url, { accept: 'application/json', 'x-request-id': log.requestId, ...callerHeaders(user.id, clientAddress) });
    let answer: OutboundAnswer;
    try {
      answer = await getText(url, { timeoutMs: weatherServiceTimeoutMs, headers });
    } catch (err) {
      if (err instanceof OutboundError && err.kind === 'timeout') {
        throw new HttpProblem(504, `the weather service did not answer within ${weatherServiceTimeoutMs} ms`);
      }
      log.warn('weather service unreachable', { code: (err as OutboundError).code });
      throw new HttpProblem(503, 'the weather service is unavailable, try again shortly');
    }
    if (answer.status === 200) {
      const report = parseJson(answer.text);
      if (isWeatherReport(report)) return report;
      log.error('weather service sent an unreadable answer', { status: 200 });
      throw new HttpProblem(503, 'the weather service sent an unreadable answer');
    }
    if (PASSED_ON.has(answer.status)) {
      // A quota 429, a budget or overload 503 says when to come back; only a plain number of seconds is passed on.
      const retryAfter = /^\d{1,5}$/.test(answer.retryAfter ?? '') ? { 'retry-after': answer.retryAfter! } : undefined;
      throw new HttpProblem(answer.status, problemDetail(answer.text) ?? `the weather service answered ${answer.status}`, retryAfter);
    }
    if (answer.status === 401 || answer.status === 403) {
      const why = isLocalStage()
        ? 'WEATHER_SERVICE_TOKEN differs between the services'
        : "this role may not invoke the weather API (execute-api:Invoke) or is not the weather service's WEATHER_BACKEND_ROLE_ARN";
      log.error(`the weather service refused our credential: ${why}`, { status: answer.status });
    } else log.error('weather service failed', { status: answer.status });
    throw new HttpProblem(503, `the weather service failed (HTTP ${answer.status})`);
  },
});

export const handler = lambda('weather', weatherProxy);
