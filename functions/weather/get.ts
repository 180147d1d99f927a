// GET /weather/{city}: the current weather in a city, from the cache while it is fresh.
import { route } from '../../layers/http/route';
import { CityParams, WeatherReport } from '../../layers/http/schemas';
import { callerFrom } from './caller-quota';
import { currentWeather } from './current-weather';
import { lambda } from './deps';

export const getWeather = route({
  method: 'GET',
  url: '/weather/:city',
  summary: 'Current weather in a city (cached)',
  description:
    'Fresh cache entries are answered without calling the provider; when the provider fails or its budget is used up, a stale entry is served with `stale: true`. Only the app backend may call it (X-Service-Token); a provider call is charged to the user and client address it names (X-Weather-Caller-User, X-Weather-Caller-Address): over their quota, 429 with Retry-After (or the stale entry).',
  tags: ['weather'],
  // The service credential (X-Service-Token), checked before the city is even looked at.
  auth: 'required',
  errors: [404, 429, 504],
  schema: { params: CityParams, response: { 200: WeatherReport } },
  // The caller headers are read here, after the credential check: only the backend can name a caller.
  handle({ params, headers, log }) {
    return currentWeather(params.city, callerFrom(headers), log);
  },
});

export const handler = lambda('weather', getWeather);
