// Test-run defaults, set before any module reads the configuration.
process.env.STAGE ??= 'test';
process.env.BCRYPT_COST ??= '4';
process.env.POWERTOOLS_SERVICE_NAME ??= 'app-backend';
process.env.POWERTOOLS_DEV ??= 'false';
