// The one outbound HTTP client: node-fetch with keep-alive agents and a deadline covering headers and body.
import http from 'node:http';
import https from 'node:https';
import fetch from 'node-fetch';

/**
 * How long a reused connection may sit idle here (ms). The client must close an idle connection before the server
 * does, or a request can go out over it at the instant the server closes it: below HAProxy's `timeout http-keep-alive`
 * (10 s) in front of the weather service, and below Node's own 5 s (the stand-in, many HTTP servers).
 */
export const IDLE_SOCKET_MS = 4000;

// Reused connections save a TCP (and TLS) handshake per call; an idle one is dropped after IDLE_SOCKET_MS.
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 128, timeout: IDLE_SOCKET_MS }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 128, timeout: IDLE_SOCKET_MS }),
};

/** Why a call produced no HTTP answer. The message never contains the URL: it may carry an API key. */
export class OutboundError extends Error {
  constructor(
    readonly kind: 'timeout' | 'network',
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}

export interface OutboundAnswer {
  status: number;
  contentType: string;
  text: string;
  /** The answer's Retry-After header, when it has one (a 503 of the weather service passes it on). */
  retryAfter?: string;
}

export interface GetOptions {
  /** Deadline for the whole exchange: connecting, the answer's headers and its body. */
  timeoutMs: number;
  headers?: Record<string, string>;
  /** Larger bodies are refused (default 1 MiB). */
  maxBytes?: number;
}

/** GETs a URL and reads the whole body, or fails with an OutboundError within the deadline. */
export async function getText(url: string, options: GetOptions): Promise<OutboundAnswer> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs);
  try {
    const response = await fetch(url, {
      headers: options.headers,
      agent: (parsed) => agents[parsed.protocol as keyof typeof agents],
      signal: controller.signal,
      size: options.maxBytes ?? 1024 * 1024,
      redirect: 'manual',
    });
    const text = await response.text();
    return {
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      text,
      retryAfter: response.headers.get('retry-after') ?? undefined,
    };
  } catch (err) {
    if (controller.signal.aborted) throw new OutboundError('timeout', `no answer within ${options.timeoutMs} ms`);
    const e = err as { code?: string; errno?: string; type?: string };
    const code = e.code ?? e.errno ?? e.type;
    throw new OutboundError('network', `request failed${code ? ` (${code})` : ''}`, code);
  } finally {
    clearTimeout(timer);
  }
}
