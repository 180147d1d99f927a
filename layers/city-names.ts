// The one city normaliser: a name's cache key, and whether that key can be stored (the column's invariant). Shared by
// the weather service, the backend's proxy schema, the OpenWeatherMap stand-in and the bench, which count per city.
import { badRequest } from './problems';

/** The longest cache key, in code points; weather_cache.city_key has the same CHECK. */
export const CITY_KEY_MAX_LENGTH = 100;

/** Normalises a city name into its cache key: NFC, trimmed, case-folded, inner spaces collapsed, ",cc" kept. */
export function cityKey(city: string): string {
  return city
    .normalize('NFC')
    .trim()
    .replace(/\s+/g, ' ')
    .replace(/\s*,\s*/g, ',')
    .toLowerCase();
}

/**
 * The cache key of a requested name, or a 400 when the key could not be stored. Judged after folding,
 * because folding may lengthen a name (100 × "İ" becomes 200 code points).
 */
export function storableCityKey(city: string): string {
  const key = cityKey(city);
  const length = [...key].length;
  if (length < 1 || length > CITY_KEY_MAX_LENGTH) {
    throw badRequest(`params/city is invalid: its normalised form must be 1 to ${CITY_KEY_MAX_LENGTH} characters (it has ${length})`);
  }
  return key;
}
