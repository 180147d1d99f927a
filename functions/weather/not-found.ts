// Any other method or path of the weather service: 405 (with Allow) for a known path, else 404.
import { unmatchedRoute } from '../../layers/http/fallback';
import { lambda } from './deps';
import { WEATHER_ROUTE_TABLE } from './route-table';

export const handler = lambda('notFound', [], { notFound: unmatchedRoute(WEATHER_ROUTE_TABLE) });
