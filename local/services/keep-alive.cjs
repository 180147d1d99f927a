// Loaded with `node --require` into every serverless-offline instance the runner starts: its HTTP servers keep idle
// connections open longer than HAProxy keeps them in its pool. HAProxy reuses an idle connection to an instance for a
// later request; if the instance closed it first (Node's default: after 5 s idle), a request can go out over it at the
// instant it closes, and a POST (never replayed by the edge) is answered 502. HAProxy purges idle connections itself
// (half of those above its estimated need every pool-purge-delay, 5 s), so with the instance waiting far longer,
// HAProxy is always the one that closes: test/stack/keep-alive.test.ts checks both settings.
'use strict';
const http = require('node:http');

/** How long an instance keeps an idle connection (ms): far above HAProxy's purges (haproxy.cfg pool-purge-delay). */
const KEEP_ALIVE_MS = 300_000;

const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function keepIdleConnections(...args) {
  this.keepAliveTimeout = KEEP_ALIVE_MS;
  return listen.apply(this, args);
};

module.exports = { KEEP_ALIVE_MS };
