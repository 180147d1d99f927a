// A minimal Lambda runtime interface client, run by Node 22 in the function's own process, as AWS runs
// /var/runtime's: load _HANDLER from LAMBDA_TASK_ROOT, then loop on the Runtime API (next → handler → response).
/* global fetch */
'use strict';
const { join } = require('node:path');

const api = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime`;
const post = (path, body) => fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const failure = (err) => ({ errorType: (err && err.name) || 'Error', errorMessage: String((err && err.message) || err) });

function loadHandler() {
  const spec = process.env._HANDLER;
  const dot = spec.lastIndexOf('.');
  const mod = require(join(process.env.LAMBDA_TASK_ROOT, spec.slice(0, dot)));
  const fn = mod[spec.slice(dot + 1)];
  if (typeof fn !== 'function') throw new Error(`${spec} is not a function`);
  return fn;
}

function contextFor(headers) {
  const deadline = Number(headers.get('lambda-runtime-deadline-ms'));
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    invokedFunctionArn: headers.get('lambda-runtime-invoked-function-arn'),
    awsRequestId: headers.get('lambda-runtime-aws-request-id'),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

async function main() {
  let handler;
  try {
    handler = loadHandler();
  } catch (err) {
    await post('/init/error', failure(err));
    process.exit(1);
  }
  for (;;) {
    const next = await fetch(`${api}/invocation/next`);
    const event = await next.json();
    const context = contextFor(next.headers);
    try {
      const result = await handler(event, context);
      await post(`/invocation/${context.awsRequestId}/response`, result === undefined ? null : result);
    } catch (err) {
      await post(`/invocation/${context.awsRequestId}/error`, failure(err));
    }
  }
}

main();
