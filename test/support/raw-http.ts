// HTTP/1.1 over a bare socket: sends exactly the bytes given (duplicate headers, broken escapes, NUL bytes,
// oversize lines that fetch() would refuse to send) and parses what comes back.
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  /** header name (lower case) → every value received */
  headers: Record<string, string[]>;
  body: string;
  json: any;
}

export interface RawRequest {
  method: string;
  /** the request target, sent as is */
  target: string;
  headers?: Array<[string, string]>;
  body?: string | Buffer;
  /** source address of the connection (e.g. 127.0.0.2: another client for HAProxy's per-address limits) */
  localAddress?: string;
}

/** Builds the request bytes: the given headers in order, Host, Content-Length for a body, Connection: close. */
export function requestBytes(host: string, req: RawRequest): Buffer {
  const body = req.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
  const lines = [`${req.method} ${req.target} HTTP/1.1`, `Host: ${host}`, ...(req.headers ?? []).map(([k, v]) => `${k}: ${v}`)];
  if (req.body !== undefined) lines.push(`Content-Length: ${body.length}`);
  lines.push('Connection: close', '', '');
  return Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), body]);
}

/** Sends raw bytes to baseUrl's host and port and reads the whole answer (the server closes the connection). */
export function sendRaw(baseUrl: string, bytes: Buffer, localAddress?: string, timeoutMs = 20_000): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), localAddress });
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no complete answer within ${timeoutMs} ms`)));
    // Written in slices, stopping once an answer arrives: a server refusing a large body answers early and closes,
    // and writing on would draw a reset that discards the answer.
    socket.on('connect', async () => {
      for (let at = 0; at < bytes.length && chunks.length === 0 && !socket.destroyed; at += 16 * 1024) {
        if (!socket.write(bytes.subarray(at, at + 16 * 1024))) await new Promise((r) => socket.once('drain', r).once('close', r));
        if (at === 0 && bytes.length > 16 * 1024) await new Promise((r) => setTimeout(r, 20));
      }
      if (!socket.destroyed) socket.end();
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    // The server may answer and close before it has read everything (a refused 2 MB body): EPIPE, then the answer.
    let failure: Error | undefined;
    socket.on('error', (err) => (failure ??= err));
    socket.on('close', () => finish());
    let done = false;
    function finish() {
      if (done) return;
      done = true;
      if (chunks.length === 0) return reject(failure ?? new Error('the connection closed without an answer'));
      try {
        resolve(parseAnswer(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    }
  });
}

export function rawRequest(baseUrl: string, req: RawRequest): Promise<RawAnswer> {
  return sendRaw(baseUrl, requestBytes(new URL(baseUrl).host, req), req.localAddress);
}

export function parseAnswer(raw: Buffer): RawAnswer {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no HTTP answer (${raw.length} bytes: ${JSON.stringify(raw.toString('latin1').slice(0, 200))})`);
  const [statusLine, ...headerLines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!status) throw new Error(`not an HTTP status line: ${statusLine}`);
  const headers: Record<string, string[]> = {};
  for (const line of headerLines) {
    const at = line.indexOf(':');
    const name = line.slice(0, at).trim().toLowerCase();
    (headers[name] ??= []).push(line.slice(at + 1).trim());
  }
  let body = raw.subarray(end + 4);
  if (headers['transfer-encoding']?.some((v) => /chunked/i.test(v))) body = dechunk(body);
  const text = body.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headers, body: text, json };
}

function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < body.length;) {
    const lineEnd = body.indexOf('\r\n', at);
    const size = parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
    if (!size) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
