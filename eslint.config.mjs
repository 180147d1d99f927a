// ESLint (flat config): typescript-eslint's recommended rules, the one-way import rule of layers/, short functions.
import js from '@eslint/js';
import importPlugin from 'eslint-plugin-import';
import tseslint from 'typescript-eslint';

/** The bottom of layers/: the problem model, credential rules, config readers, event names, city names, client addresses. */
const BOTTOM = [
  './layers/problems.ts',
  './layers/credentials.ts',
  './layers/config/**',
  './layers/events.ts',
  './layers/city-names.ts',
  './layers/ip-address.ts',
];

// Who may not import whom (docs/architecture.md): an import against an arrow below fails the lint.
const zones = [
  { target: './layers/**', from: ['./functions/**', './local/**', './bench/**', './test/**'], message: 'layers never import functions, local, bench or test' },
  { target: BOTTOM, from: ['./layers/http/**', './layers/db/**', './layers/auth/**'], message: 'the bottom of layers imports nothing above it' },
  { target: './layers/db/**', from: ['./layers/http/**', './layers/auth/**'], message: 'db never imports http or auth' },
  {
    target: ['./layers/!(local-runtime)/**', './layers/*.ts'],
    from: './layers/local-runtime/**',
    message: 'only the composition roots (functions/deps.ts, functions/weather/deps.ts) wire in the local runtime',
  },
  {
    target: ['./functions/!(weather)/**', './functions/weather/!(deps).ts', './functions/!(deps).ts'],
    from: './layers/local-runtime/**',
    message: 'only the composition roots (functions/deps.ts, functions/weather/deps.ts) wire in the local runtime',
  },
  { target: './layers/auth/**', from: ['./layers/http/**', './layers/db/**'], message: 'auth never imports http or db: the service hands it what it needs' },
  {
    target: './layers/http/**',
    from: ['./layers/auth/**', './layers/db/**'],
    message: 'http never imports auth or db: a service hands its routes authentication and error mappers',
  },
  {
    target: './functions/weather/**',
    from: ['./layers/auth/**', './functions/!(weather)/**', './functions/*.ts'],
    message: 'the weather service deploys on its own: no auth, no backend code',
  },
  { target: './functions/weather/**', from: './layers/db/users.ts', message: 'the weather service deploys on its own: no users store' },
  {
    target: ['./functions/!(weather)/**', './functions/*.ts'],
    from: './functions/weather/**',
    message: 'the backend reaches the weather service over HTTP only',
  },
];

export default tseslint.config(
  { ignores: ['node_modules/', '**/.serverless/', '**/.esbuild*/', 'local/.data/', 'local/logs/', 'bench/results/', 'test-results/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mjs', '**/*.cjs', '**/*.js'],
    plugins: { import: importPlugin },
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', __dirname: 'readonly', require: 'readonly', module: 'writable' },
    },
    settings: { 'import/resolver': { node: { extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] } } },
    rules: {
      'import/no-restricted-paths': ['error', { zones }],
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true, IIFEs: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  // Jest's describe blocks hold a whole file's tests: function length means nothing there.
  {
    files: ['test/**/*.ts'],
    rules: { 'max-lines-per-function': 'off', '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['**/*.cjs', '**/*.js'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
