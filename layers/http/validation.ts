// Request validation: ajv compiled once per process, strict for bodies, coercing for the text parts of a URL.
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// Bodies are validated strictly (a number where a string is expected is a 400); query strings and path
// parameters are text by nature, so they are coerced ("limit=10" becomes 10).
// verbose: errors carry their schema, so a failed pattern is explained by its description, not by the regex.
const ajvOptions = { allErrors: false, removeAdditional: false, useDefaults: true, allowUnionTypes: true, verbose: true } as const;
const strictAjv = addFormats(new Ajv({ ...ajvOptions, coerceTypes: false }));
const coercingAjv = addFormats(new Ajv({ ...ajvOptions, coerceTypes: true }));
for (const ajv of [strictAjv, coercingAjv]) ajv.addKeyword('example');

/**
 * Ajv coerces "1e400" to Infinity and then skips minimum/maximum (they only judge finite numbers), so `limit=1e400`
 * would reach SQL: text parts (query, params) are refused when a value coerced to a non-finite number.
 */
function finiteOnly(validate: ValidateFunction): ValidateFunction {
  const check = ((data: unknown) => {
    const valid = validate(data);
    check.errors = validate.errors;
    if (!valid || !data || typeof data !== 'object') return valid;
    const key = Object.keys(data).find(
      (k) => typeof (data as Record<string, unknown>)[k] === 'number' && !Number.isFinite((data as Record<string, number>)[k]),
    );
    if (key === undefined) return true;
    check.errors = [{ instancePath: `/${key}`, schemaPath: '#/type', keyword: 'type', params: {}, message: 'must be a finite number' }];
    return false;
  }) as ValidateFunction;
  return check;
}

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  httpPart === 'body' ? strictAjv.compile(schema) : finiteOnly(coercingAjv.compile(schema));

interface ValidationIssue {
  keyword?: string;
  instancePath?: string;
  parentSchema?: { description?: unknown };
}

/** "body/username is invalid: 3 to 32 characters of …" instead of the raw regular expression. */
export function validationDetail(issues: unknown, context: string | undefined): string | undefined {
  const [first] = Array.isArray(issues) ? (issues as ValidationIssue[]) : [];
  const description = first?.parentSchema?.description;
  if (first?.keyword !== 'pattern' || typeof description !== 'string') return undefined;
  return `${context ?? 'request'}${first.instancePath ?? ''} is invalid: ${description}`;
}
