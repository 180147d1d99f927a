// The catch-all answer of a service: 405 (with Allow) when the path exists under another method, else 404.
import { HttpProblem } from '../problems';

/** A method and path a service serves (fastify path syntax: /user/:user_id). */
export interface RouteKey {
  method: string;
  url: string;
}

/** The not-found answer for a service serving these routes (HEAD comes with GET). */
export function unmatchedRoute(routes: readonly RouteKey[]): (method: string, path: string) => HttpProblem {
  const known = routes.map((r) => ({
    method: r.method,
    pattern: new RegExp(`^${r.url.replace(/:[a-z_]+/g, '[^/]+')}/?$`),
  }));
  return (method, path) => {
    const allowed = known.filter((k) => k.pattern.test(path)).map((k) => k.method);
    if (allowed.includes('GET')) allowed.push('HEAD');
    if (allowed.length === 0) return new HttpProblem(404, `no route for ${method} ${path}`);
    return new HttpProblem(405, `${method} is not allowed on ${path}`, { allow: allowed.join(', ') });
  };
}
