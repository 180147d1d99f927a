// The one outbound HTTP client: node-fetch with keep-alive agents and a deadline covering headers and body.
import http from 'node:http';
import https from 'node:https';
import fetch from 'node-fetch';

// Reused connections save a TCP (and TLS) handshake per call; Node drops idle sockets before the server's Keep-Alive hint.
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 128 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 128 }),
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
