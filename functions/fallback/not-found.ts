// Any other method or path: 405 (with Allow) when the path exists under another method, else 404.
import { HttpProblem } from '../../layers/http/errors';
import { lambda } from '../../layers/http/route';
import { backendRoutes } from '../routes';

const known = backendRoutes.map((r) => ({
  method: r.method,
  pattern: new RegExp(`^${r.url.replace(/:[a-z_]+/g, '[^/]+')}/?$`),
}));

/** The methods a path is served with (HEAD comes with GET). */
export function allowedMethods(path: string): string[] {
  const methods: string[] = known.filter((k) => k.pattern.test(path)).map((k) => k.method);
  if (methods.includes('GET')) methods.push('HEAD');
  return methods;
}

export function unmatched(method: string, path: string): HttpProblem {
  const allowed = allowedMethods(path);
  if (allowed.length === 0) return new HttpProblem(404, `no route for ${method} ${path}`);
  return new HttpProblem(405, `${method} is not allowed on ${path}`, { allow: allowed.join(', ') });
}

export const handler = lambda([], { notFound: unmatched });
