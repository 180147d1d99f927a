// Any other method or path: 405 (with Allow) when the path exists under another method, else 404.
import { unmatchedRoute } from '../../layers/http/fallback';
import { lambda } from '../deps';
import { BACKEND_ROUTE_TABLE } from '../route-table';

export const unmatched = unmatchedRoute(BACKEND_ROUTE_TABLE);

export const handler = lambda('notFound', [], { notFound: unmatched });
