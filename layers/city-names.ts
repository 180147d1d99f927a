// City names as the weather service keys them; shared with the OpenWeatherMap stand-in and the bench, which count per city.

/** Normalises a city name into its cache key: trimmed, case-folded, inner spaces collapsed, ",cc" kept. */
export function cityKey(city: string): string {
  return city
    .normalize('NFC')
    .trim()
    .replace(/\s+/g, ' ')
    .replace(/\s*,\s*/, ',')
    .toLowerCase();
}
