// A chunked request body sent over a bare socket at a chosen pace: the framing that carries no Content-Length for
// a proxy to judge, and the slow client that makes a proxy wait for it.
import { connect } from 'node:net';
import { parseAnswer, type RawAnswer } from './raw-http';

export interface ChunkedRequest {
  target: string;
  /** total body bytes, sent in chunks of chunkBytes */
  bodyBytes: number;
  chunkBytes: number;
  /** pause after each chunk */
  pauseMs?: number;
  headers?: Array<[string, string]>;
  localAddress?: string;
}

/** POSTs the body chunk by chunk; stops writing once an answer arrives (a refusal before the end) and reads it. */
export function sendChunked(baseUrl: string, req: ChunkedRequest, timeoutMs = 30_000): Promise<RawAnswer> {
  const { hostname, port, host } = new URL(baseUrl);
  const head = [
    `POST ${req.target} HTTP/1.1`,
    `Host: ${host}`,
    ...(req.headers ?? []).map(([k, v]) => `${k}: ${v}`),
    'Transfer-Encoding: chunked',
    'Connection: close',
    '',
    '',
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), localAddress: req.localAddress });
    const received: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no complete answer within ${timeoutMs} ms`)));
    socket.on('connect', async () => {
      socket.write(head);
      for (let sent = 0; sent < req.bodyBytes && received.length === 0 && !socket.destroyed; sent += req.chunkBytes) {
        const size = Math.min(req.chunkBytes, req.bodyBytes - sent);
        if (!socket.write(`${size.toString(16)}\r\n${'a'.repeat(size)}\r\n`)) await new Promise((r) => socket.once('drain', r).once('close', r));
        if (req.pauseMs) await new Promise((r) => setTimeout(r, req.pauseMs));
      }
      if (received.length === 0 && !socket.destroyed) socket.end('0\r\n\r\n');
    });
    socket.on('data', (chunk) => received.push(chunk));
    let failure: Error | undefined;
    socket.on('error', (err) => (failure ??= err));
    socket.on('close', () => {
      if (received.length === 0) return reject(failure ?? new Error('the connection closed without an answer'));
      try {
        resolve(parseAnswer(Buffer.concat(received)));
      } catch (err) {
        reject(err);
      }
    });
  });
}
