// Error mapping: any error becomes the problem it is answered with. The http layer knows only HttpProblem and
// fastify's own errors; each service registers how its dependencies' errors are answered (a small registry).
import { HttpProblem } from '../problems';
import { validationDetail } from './validation';

/** Maps the errors it knows to a problem; undefined for the others. */
export type ErrorMapper = (err: unknown) => HttpProblem | undefined;

/** Maps any error to the status, detail and headers of its problem+json answer (500 for an unknown one). */
export function toProblem(err: unknown, mappers: readonly ErrorMapper[] = []): HttpProblem {
  if (err instanceof HttpProblem) return err;
  const e = err as { validation?: unknown; validationContext?: string; statusCode?: number; message?: string; code?: string };
  if (e?.validation) return new HttpProblem(400, validationDetail(e.validation, e.validationContext) ?? e.message ?? 'invalid request');
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new HttpProblem(e.statusCode, clientErrorDetail(e.code, e.message));
  }
  for (const mapper of mappers) {
    const problem = mapper(err);
    if (problem) return problem;
  }
  return new HttpProblem(500, 'internal error');
}

function clientErrorDetail(code: string | undefined, message: string | undefined): string {
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'unsupported content type';
  if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'the JSON body is empty';
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'the request body is too large';
  return message ?? 'bad request';
}
