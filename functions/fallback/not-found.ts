// Any other method or path: 405 (with Allow) when the path exists under another method, else 404.
import { unmatchedRoute } from '../../layers/http/fallback';
import { lambda } from '../deps';
import { backendRoutes } from '../routes';

export const unmatched = unmatchedRoute(backendRoutes);

export const handler = lambda([], { notFound: unmatched });
