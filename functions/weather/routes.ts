// Every route the weather service serves: the source of its 404/405 fallback (and of the tests' app).
import type { AnyRoute } from '../../layers/http/route';
import { getWeather } from './get';
import { healthCheck } from './health';

export const weatherRoutes = [getWeather, healthCheck] as readonly AnyRoute[];
