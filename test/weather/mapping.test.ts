// The pure parts of the weather service: the cache key of a city name and the provider body mapping.
import { cityKey } from '../../layers/city-names';
import { toObservation } from '../../functions/weather/openweather';
import { weatherBody } from '../../local/services/standin';

describe('cityKey', () => {
  test.each([
    ['London', 'london'],
    ['  New   YORK  ', 'new york'],
    ['São Paulo,BR', 'são paulo,br'],
    ['London ,GB', 'london,gb'],
    ['Sa\u0303o Paulo', 'são paulo'], // decomposed ã becomes the composed one
    ['МОСКВА', 'москва'],
    ["Val-d'Isère", "val-d'isère"],
  ])('%j → %j', (name, key) => {
    expect(cityKey(name)).toBe(key);
  });
});

describe('toObservation', () => {
  const body = weatherBody('Zürich', 'metric');

  test('maps the provider body to the documented fields', () => {
    expect(toObservation(body, 'zürich')).toEqual({
      city: 'Zürich',
      country: 'CH',
      temperature_c: body.main.temp,
      feels_like_c: body.main.feels_like,
      humidity: body.main.humidity,
      pressure_hpa: body.main.pressure,
      wind_speed_ms: body.wind.speed,
      description: body.weather[0].description,
      observed_at: new Date(body.dt * 1000).toISOString(),
    });
  });

  test('falls back to the requested name and an empty country when the provider leaves them out', () => {
    const observation = toObservation({ ...body, name: '', sys: {} }, 'somewhere');
    expect(observation).toMatchObject({ city: 'somewhere', country: '' });
  });

  test.each([
    ['null', null],
    ['an array', []],
    ['a string', 'weather'],
    ['no main', { ...body, main: undefined }],
    ['a temperature as text', { ...body, main: { ...body.main, temp: '12' } }],
    ['no description', { ...body, weather: [] }],
    ['no wind', { ...body, wind: undefined }],
    ['an impossible time', { ...body, dt: 1e20 }],
  ])('refuses %s (an unreadable answer, not a crash)', (_, input) => {
    expect(toObservation(input, 'zürich')).toBeUndefined();
  });
});
