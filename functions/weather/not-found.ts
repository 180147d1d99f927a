// Any other method or path of the weather service: 405 (with Allow) for a known path, else 404.
import { unmatchedRoute } from '../../layers/http/fallback';
import { lambda } from './deps';
import { weatherRoutes } from './routes';

export const handler = lambda([], { notFound: unmatchedRoute(weatherRoutes) });
