// One deployed function as Lambda runs it: its zip unpacked into a read-only task root, its own Node 22
// process as an unprivileged user, only the template's environment plus the runtime's variables, and a
// Runtime API (the HTTP interface AWS's runtime client polls) through which the test hands it events.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { ACCOUNT_ID, REGION, type DeployedFunction } from './package-services';
import { fakeCredential, type AwsCredential } from './sigv4';
import { unpackZip } from './zip-files';

/** uid/gid of `nobody`: the function cannot write its own code (we run as root here). */
const NOBODY = 65534;
const RUNTIME_API = '/2018-06-01/runtime';

export interface LogLine {
  fn: string;
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface ColdStart {
  /** process spawned → handler module loaded (the first poll of the Runtime API) */
  initMs: number;
  /** process spawned → first answer posted */
  firstAnswerMs: number;
}

interface Pending {
  id: string;
  event: unknown;
  resolve(result: InvocationResult): void;
}

export type InvocationResult = { ok: true; payload: unknown } | { ok: false; error: { errorType: string; errorMessage: string } };

/** The variables the Lambda runtime itself sets (documented in docs/deploying.md); they win over the template's. */
export function runtimeEnvironment(
  fn: DeployedFunction,
  taskRoot: string,
  runtimeDir: string,
  runtimeApi: string,
  nodeBinary: string,
  credential: AwsCredential,
): Record<string, string> {
  return {
    // The function's role, as temporary credentials (fake ones: nothing here may call AWS).
    AWS_ACCESS_KEY_ID: credential.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credential.secretAccessKey,
    AWS_SESSION_TOKEN: credential.sessionToken,
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `2026/01/01/[$LATEST]${randomUUID().replace(/-/g, '')}`,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_RUNTIME_API: runtimeApi,
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    LAMBDA_TASK_ROOT: taskRoot,
    LAMBDA_RUNTIME_DIR: runtimeDir,
    _HANDLER: fn.handler,
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    PATH: `${dirname(nodeBinary)}:/usr/local/bin:/usr/bin:/bin`,
    NODE_PATH: `${runtimeDir}/node_modules:${runtimeDir}:${taskRoot}`,
  };
}

export class FunctionContainer {
  readonly logs: LogLine[] = [];
  /** The credentials of this container's role session (each container is one session of its service's role). */
  readonly credential = fakeCredential();
  coldStart?: ColdStart;
  private server?: Server;
  private child?: ChildProcess;
  private queue: Pending[] = [];
  private waiting?: ServerResponse;
  private inFlight = new Map<string, Pending>();
  private spawnedAt = 0;
  private initAt = 0;
  private initError?: string;

  constructor(
    readonly fn: DeployedFunction,
    private readonly dir: string,
    private readonly nodeBinary: string,
    private readonly onLog: (line: LogLine) => void = () => undefined,
  ) {}

  get taskRoot(): string {
    return join(this.dir, 'task');
  }

  /** Hands one event to the function (starting it on the first call, as a cold start) and waits for its answer. */
  async invoke(event: unknown): Promise<InvocationResult> {
    if (!this.child) await this.start();
    if (this.initError) return { ok: false, error: { errorType: 'Runtime.InitError', errorMessage: this.initError } };
    return new Promise((resolve) => {
      this.queue.push({ id: randomUUID(), event, resolve });
      this.dispatch();
    });
  }

  /** Unpacks the zip and the runtime client (the deployment), before any cold start is timed. */
  async deploy(): Promise<void> {
    await unpackZip(this.fn.zip, this.taskRoot);
    const runtimeDir = join(this.dir, 'runtime');
    mkdirSync(runtimeDir, { recursive: true });
    copyFileSync(join(__dirname, 'bootstrap.js'), join(runtimeDir, 'bootstrap.js'));
    chmodSync(this.dir, 0o755);
  }

  private async start(): Promise<void> {
    const runtimeDir = join(this.dir, 'runtime');
    this.server = createServer((req, res) => this.runtimeApi(req, res));
    this.server.requestTimeout = 0; // the runtime's poll for the next event waits as long as it must
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    const { port } = this.server.address() as AddressInfo;
    const env = { ...this.fn.environment, ...runtimeEnvironment(this.fn, this.taskRoot, runtimeDir, `127.0.0.1:${port}`, this.nodeBinary, this.credential) };
    const asNobody = process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {};
    this.spawnedAt = performance.now();
    this.child = spawn(this.nodeBinary, [join(runtimeDir, 'bootstrap.js')], { cwd: this.taskRoot, env, stdio: ['ignore', 'pipe', 'pipe'], ...asNobody });
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: this.child[stream]! }).on('line', (text) => {
        const line = { fn: this.fn.alias, stream, text };
        this.logs.push(line);
        this.onLog(line);
      });
    }
    this.child.on('exit', () => {
      for (const pending of [...this.inFlight.values(), ...this.queue])
        pending.resolve({ ok: false, error: { errorType: 'Runtime.ExitError', errorMessage: 'the function process exited' } });
      this.inFlight.clear();
      this.queue = [];
    });
  }

  private dispatch(): void {
    if (!this.waiting || this.queue.length === 0) return;
    const pending = this.queue.shift()!;
    const res = this.waiting;
    this.waiting = undefined;
    this.inFlight.set(pending.id, pending);
    res.writeHead(200, {
      'content-type': 'application/json',
      'lambda-runtime-aws-request-id': pending.id,
      'lambda-runtime-deadline-ms': String(Date.now() + this.fn.timeoutSeconds * 1000),
      'lambda-runtime-invoked-function-arn': `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${this.fn.name}`,
    });
    res.end(JSON.stringify(pending.event));
  }

  private runtimeApi(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '';
      const body = Buffer.concat(chunks).toString();
      if (req.method === 'GET' && url === `${RUNTIME_API}/invocation/next`) {
        this.initAt ||= performance.now();
        this.waiting = res;
        this.dispatch();
        return;
      }
      const match = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url);
      const pending = match && this.inFlight.get(match[1]);
      if (pending) {
        this.inFlight.delete(pending.id);
        this.coldStart ??= { initMs: this.initAt - this.spawnedAt, firstAnswerMs: performance.now() - this.spawnedAt };
        pending.resolve(match[2] === 'response' ? { ok: true, payload: JSON.parse(body || 'null') } : { ok: false, error: JSON.parse(body) });
      } else if (url === `${RUNTIME_API}/init/error`) {
        this.initError = body;
      }
      res.writeHead(202).end();
    });
  }

  /** Stops the function's process (by its pid) and its Runtime API. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    this.waiting?.destroy();
    this.server?.closeAllConnections();
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)));
  }
}
