// JSON schemas shared by routes: they validate requests, serialize responses and feed /openapi.json.
import { Type } from '@sinclair/typebox';
import { PASSWORD_MAX_BYTES, PASSWORD_MIN_BYTES, USERNAME_DESCRIPTION, USERNAME_PATTERN } from '../credentials';

export const Username = Type.String({
  minLength: 3,
  maxLength: 32,
  pattern: USERNAME_PATTERN,
  description: USERNAME_DESCRIPTION,
  example: 'ada_lovelace',
});

export const Password = Type.String({
  minLength: PASSWORD_MIN_BYTES,
  maxLength: PASSWORD_MAX_BYTES,
  description: `${PASSWORD_MIN_BYTES} to ${PASSWORD_MAX_BYTES} bytes in UTF-8 (bcrypt's limit; longer is refused, not truncated)`,
  format: 'password',
  example: 'correct horse battery',
});

export const PublicUser = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    username: Type.String(),
    created_at: Type.String({ format: 'date-time' }),
  },
  { description: 'A user, as anyone signed in may see it' },
);

/** A UUID in its canonical 8-4-4-4-12 hex form, any case (the `uuid` format alone also lets `urn:uuid:…` through). */
export const USER_ID_PATTERN = '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$';

export const UserIdParams = Type.Object({
  user_id: Type.String({
    format: 'uuid',
    pattern: USER_ID_PATTERN,
    description: 'The user id: a UUID in its canonical 8-4-4-4-12 hex form (compared case-insensitively)',
  }),
});

export const TokenResponse = Type.Object({
  access_token: Type.String({ description: 'HS256 JWT with sub, iat, exp, iss' }),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the token expires' }),
  device_token: Type.String({
    description:
      'Proof that this client has signed in to this account (valid 30 days by default). Send it back with later logins (field `device_token`, or the `device_token` cookie set with this answer: Secure, HttpOnly, SameSite=Strict, Path=/token) and failed logins of others at this account never hold you up.',
  }),
});

export const HealthReport = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  checks: Type.Object({ database: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]) }),
});

/**
 * Any Unicode letters, spaces, - ' . and an optional ",CC" country code; spaces around the name are trimmed by the
 * weather service, which also judges the length of the normalised name (layers/city-names.ts).
 */
export const CITY_PATTERN = "^ *[\\p{L}\\p{M}][\\p{L}\\p{M} .'\\-]*( *,[A-Za-z]{2})? *$";

export const CityParams = Type.Object({
  city: Type.String({
    minLength: 1,
    // Room for spaces around a 100-character name; the stored key's own limit is checked after normalising.
    maxLength: 200,
    pattern: CITY_PATTERN,
    description:
      "City name: Unicode letters, spaces, - ' . and an optional ,CC country code (URL-encoded); at most 100 characters once trimmed and lower-cased",
    example: 'São Paulo,BR',
  }),
});

export const WeatherReport = Type.Object({
  city: Type.String(),
  country: Type.String(),
  temperature_c: Type.Number(),
  feels_like_c: Type.Number(),
  humidity: Type.Integer({ description: 'percent' }),
  pressure_hpa: Type.Number(),
  wind_speed_ms: Type.Number(),
  description: Type.String(),
  observed_at: Type.String({ format: 'date-time' }),
  fetched_at: Type.String({ format: 'date-time' }),
  cached: Type.Boolean({ description: 'Answered from the cache without calling the upstream' }),
  stale: Type.Boolean({ description: 'Older than the cache TTL, served because the upstream failed' }),
});
