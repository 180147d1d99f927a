// Test-run defaults, set before any module reads the configuration.
process.env.STAGE ??= 'test';
process.env.BCRYPT_COST ??= '4';
process.env.POWERTOOLS_SERVICE_NAME ??= 'app-backend';
process.env.POWERTOOLS_DEV ??= 'false';
// The whole run shares one weather database: a budget far above what the suite asks for (budget tests set their own).
process.env.OPENWEATHER_CALLS_PER_MINUTE ??= '1000';
// Most tests call the weather service without naming a caller (one shared "unattributed" key) or as one user:
// quotas as high as that budget (the quota tests set their own).
process.env.WEATHER_MISSES_PER_USER_PER_MINUTE ??= '1000';
process.env.WEATHER_MISSES_PER_ADDRESS_PER_MINUTE ??= '1000';
// Tests stand for the passing of time by ageing cache rows in the database: no instance may answer from its memory
// meanwhile (test/weather/memory-cache.test.ts turns it on).
process.env.WEATHER_MEMORY_CACHE_MS ??= '0';
// Every stack a test starts warms its instances (local/warm-up.ts), briefly: the path is covered, the time is not spent.
process.env.WARM_UP_REQUESTS ??= '20';
