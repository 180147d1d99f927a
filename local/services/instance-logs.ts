// Loaded with `node --require` (bundled to CommonJS at stack start: local/services/bundles.ts) into every
// serverless-offline instance the runner starts: the instance writes its own JSON log lines to <name>.log, from stdout
// and from stderr (where Powertools writes WARN and ERROR), rotated like every local log (local/log-files.ts), instead
// of sending each line down a pipe for the runner to relay (measured: the relay cost the runner 80–350 µs of CPU per
// request). Anything else it prints (serverless-offline's banners, Node's warnings, a crash) still goes down the pipe,
// to <name>.stderr.log.
import { RotatingLogFile } from '../log-files';

/** The instance's log file and its rotation, in INSTANCE_LOGS (JSON) from the runner. */
export interface InstanceLogs {
  file: string;
  maxBytes: number;
  filesKept: number;
}

type Write = (
  chunk: string | Uint8Array,
  encodingOrCallback?: BufferEncoding | ((err?: Error | null) => void),
  callback?: (err?: Error | null) => void,
) => boolean;

/** Sends the JSON lines written to `stream` to `log` (whole lines, one write each: how Powertools and console write). */
function divert(stream: NodeJS.WriteStream, log: RotatingLogFile): void {
  const passOn = stream.write.bind(stream) as Write;
  const write: Write = (chunk, encodingOrCallback, callback) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (!text.startsWith('{') || !text.endsWith('\n')) return passOn(chunk, encodingOrCallback, callback);
    log.write(text);
    const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
    if (done) process.nextTick(done);
    return true;
  };
  stream.write = write as typeof stream.write;
}

export function installInstanceLogs(settings: InstanceLogs): RotatingLogFile {
  const log = new RotatingLogFile(settings.file, { maxBytes: settings.maxBytes, filesKept: settings.filesKept });
  divert(process.stdout, log);
  divert(process.stderr, log);
  // Lines of the last event-loop turn are written out even when the process exits on a signal.
  process.once('exit', () => log.end());
  return log;
}

const configured = process.env.INSTANCE_LOGS;
if (configured) installInstanceLogs(JSON.parse(configured) as InstanceLogs);
