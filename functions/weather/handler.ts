// GET /weather/{city}: the current weather in a city, from the cache while it is fresh.
import { route } from '../../layers/http/route';
import { CityParams, WeatherReport } from '../../layers/http/schemas';
import { currentWeather } from './current-weather';
import { lambda } from './deps';

export const getWeather = route({
  method: 'GET',
  url: '/weather/:city',
  summary: 'Current weather in a city (cached)',
  description: 'Fresh cache entries are answered without calling the provider; when the provider fails, a stale entry is served with `stale: true`.',
  tags: ['weather'],
  auth: 'none',
  errors: [404, 504],
  schema: { params: CityParams, response: { 200: WeatherReport } },
  handle: ({ params, log }) => currentWeather(params.city, log),
});

export const handler = lambda(getWeather);
