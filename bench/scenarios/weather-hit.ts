// GET /weather/{city} for cities already cached: the weather service's fast path, through the backend proxy.
import { cityPath, WARM_CITIES } from '../requests';
import type { LoadScenario } from './scenario';

export const weatherHit: LoadScenario = {
  id: 'weather-hit',
  title: `GET /weather/{city}, cache hit (${WARM_CITIES.length} cities)`,
  spec: (base, user) => ({ url: base, headers: { authorization: `Bearer ${user.token}` }, paths: WARM_CITIES.map(cityPath) }),
};
