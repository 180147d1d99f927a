// Hostile input for the chaos tests: SQL injection strings, path tricks, and fast-check arbitraries of
// malformed bodies, shared by the handler-level bulk and the sample sent through HAProxy.
import fc from 'fast-check';

export const SQL_INJECTIONS = [
  "' OR '1'='1",
  "' OR 1=1 --",
  "admin'--",
  "'; DROP TABLE users; --",
  '1; DROP TABLE users',
  "1' UNION SELECT id, username, password_hash FROM users --",
  "') OR ('a'='a",
  '1) OR pg_sleep(5)--',
  "'; SELECT pg_sleep(5); --",
  "' || (SELECT current_user) || '",
  '" OR ""="',
  '$1',
  "\\'; --",
  '%27%20OR%201%3D1',
  '0x27204f5220313d31',
  'NULL',
  "'\u0000' OR 1=1",
  'ʼ OR 1=1 --',
  '1 AND (SELECT 1 FROM pg_user LIMIT 1)=1',
  '${jndi:ldap://example.invalid/a}',
];

/** Raw path segments (sent as they are, not encoded again): traversal, NUL, double and broken encodings. */
export const PATH_TRICKS = [
  '..',
  '..%2F..%2Fetc%2Fpasswd',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '%252e%252e%252f',
  '..%252f..%252fetc%252fpasswd',
  '..%5c..%5cwindows',
  '%00',
  'London%00',
  'London%00.json',
  '%C0%AE%C0%AE%2F',
  '%E0%A4%A',
  '%',
  '%%',
  '%ZZ',
  '..;',
  '.%2e',
  '%2F',
  'London%2F..%2F..%2Fhealth-check',
  'London%0d%0aX-Injected:%201',
  '%u002e%u002e',
  '%E2%80%AELondon',
  'Lon%00don',
  '%7B%7B7*7%7D%7D',
  '%3Cscript%3Ealert(1)%3C%2Fscript%3E',
  '%27%20OR%201%3D1%20--',
];

/** What a response body must never contain: stack frames, file paths, driver or SQL errors (inputs may be echoed). */
export const LEAK = /\n\s+at \S|\bat [\w.<>]+ \(\/|node_modules\/|\/work\/|\.[jt]s:\d+:\d+|ECONNREFUSED|pg-promise|syntax error at or near|SQLSTATE/;

export interface HostileBody {
  kind: string;
  contentType: string;
  payload: string | Buffer;
}

const anyString = (maxLength = 80) =>
  fc.oneof(
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.constantFrom(...SQL_INJECTIONS),
    fc.string({ maxLength: 20 }).map((s) => `${s}\u0000${s}`),
    fc.integer({ min: 73, max: 66_000 }).map((n) => 'x'.repeat(n)),
  );

/** Printable header text (obs-text included, as HTTP allows): what a proxy could pass on. */
export const headerText = (maxLength = 200) => fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength });

export const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/x-www-form-urlencoded',
  'text/plain',
  'multipart/form-data; boundary=----x',
  'application/xml',
  'application/json; charset=utf-16le',
  'application/vnd.api+json',
  'application/octet-stream',
  '*/*',
  'application/json, text/plain',
  '',
];

const wrongType = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

/**
 * Malformed bodies for a JSON/form endpoint whose fields are `fields`: random bytes, any JSON, fields of the
 * wrong type, hostile strings, truncated JSON, prototype pollution, deep nesting, huge documents.
 */
export function hostileBodies(fields: string[]): fc.Arbitrary<HostileBody> {
  const json =
    (kind: string) =>
    (value: unknown): HostileBody => ({ kind, contentType: 'application/json', payload: JSON.stringify(value) ?? 'undefined' });
  const record = (value: fc.Arbitrary<unknown>) => fc.record(Object.fromEntries(fields.map((f) => [f, value])), { requiredKeys: [] });
  return fc.oneof(
    fc.uint8Array({ maxLength: 2048 }).map((b) => ({ kind: 'random bytes', contentType: 'application/octet-stream', payload: Buffer.from(b) })),
    fc.jsonValue({ maxDepth: 4 }).map(json('any JSON')),
    record(fc.oneof(wrongType, anyString())).map(json('wrong types')),
    record(anyString()).map(json('hostile strings')),
    fc.tuple(record(anyString(20)), fc.nat()).map(([value, cut]) => {
      const text = JSON.stringify(value);
      return { kind: 'truncated JSON', contentType: 'application/json', payload: text.slice(0, cut % Math.max(text.length, 1)) };
    }),
    record(anyString(20)).map((value) => ({
      kind: 'form',
      contentType: 'application/x-www-form-urlencoded',
      payload: new URLSearchParams(value as Record<string, string>).toString(),
    })),
    fc.constantFrom<HostileBody>(
      { kind: 'prototype pollution', contentType: 'application/json', payload: `{"__proto__":{"admin":true},"${fields[0]}":"abcdef"}` },
      { kind: 'prototype pollution', contentType: 'application/json', payload: `{"constructor":{"prototype":{"admin":true}}}` },
      { kind: 'deep nesting', contentType: 'application/json', payload: '['.repeat(20_000) + ']'.repeat(20_000) },
      { kind: 'deep nesting', contentType: 'application/json', payload: '{"a":'.repeat(6_000) + '1' + '}'.repeat(6_000) },
      { kind: 'huge JSON', contentType: 'application/json', payload: JSON.stringify({ [fields[0]]: 'a'.repeat(2 * 1024 * 1024) }) },
      { kind: 'huge JSON', contentType: 'application/json', payload: JSON.stringify(Array.from({ length: 20_000 }, (_, i) => ({ i }))) },
      { kind: 'duplicate keys', contentType: 'application/json', payload: `{"${fields[0]}":"abcdef","${fields[0]}":{"$ne":null}}` },
      { kind: 'form array', contentType: 'application/x-www-form-urlencoded', payload: `${fields[0]}=a&${fields[0]}=b&${fields[1]}[]=c` },
      { kind: 'broken form', contentType: 'application/x-www-form-urlencoded', payload: `${fields[0]}=%E0%A4%A&${fields[1]}=%zz&&=&%=` },
      { kind: 'empty', contentType: 'application/json', payload: '' },
      { kind: 'BOM', contentType: 'application/json', payload: '\ufeff{}' },
    ),
  );
}

/** A body, sometimes sent with the content type it was made for and sometimes with any other. */
export function withAnyContentType(bodies: fc.Arbitrary<HostileBody>): fc.Arbitrary<HostileBody> {
  return fc
    .tuple(bodies, fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, fc.constantFrom(...CONTENT_TYPES), headerText(60)))
    .map(([body, contentType]) => (contentType === undefined ? body : { ...body, contentType }));
}

/** Any path segment: random text (encoded), SQL injection (encoded) or a raw encoding trick. */
export const hostileSegment = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 120 }).map(encodeSegment),
  fc.string({ unit: 'grapheme', maxLength: 60 }).map(encodeSegment),
  fc.constantFrom(...SQL_INJECTIONS).map(encodeSegment),
  fc.constantFrom(...PATH_TRICKS),
  fc.integer({ min: 100, max: 3000 }).map((n) => 'a'.repeat(n)),
);

function encodeSegment(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return encodeURIComponent(text.replace(/[\ud800-\udfff]/g, '?')); // a lone surrogate cannot be encoded
  }
}
