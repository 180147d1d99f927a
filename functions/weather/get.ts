// GET /weather/{city}: the current weather in a city, from the cache while it is fresh.
import { route } from '../../layers/http/route';
import { CityParams, WeatherReport } from '../../layers/http/schemas';
import { currentWeather } from './current-weather';
import { lambda } from './deps';

export const getWeather = route({
  method: 'GET',
  url: '/weather/:city',
  summary: 'Current weather in a city (cached)',
  description:
    'Fresh cache entries are answered without calling the provider; when the provider fails or its budget is used up, a stale entry is served with `stale: true`. Only the app backend may call it (X-Service-Token).',
  tags: ['weather'],
  // The service credential (X-Service-Token), checked before the city is even looked at.
  auth: 'required',
  errors: [404, 504],
  schema: { params: CityParams, response: { 200: WeatherReport } },
  handle({ params, log }) {
    return currentWeather(params.city, log);
  },
});

export const handler = lambda('weather', getWeather);
