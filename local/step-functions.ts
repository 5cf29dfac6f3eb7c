/**
 * The local stand-in for the Step Functions API's task-token calls (SendTaskSuccess, SendTaskFailure,
 * SendTaskHeartbeat), StartExecution, StopExecution and DescribeExecution (of running executions), over the same JSON protocol the AWS SDK speaks, so the registry API's
 * handler answers a waiting pipeline, and an alarm action starts a run, with the same SDK calls locally and in
 * AWS. `aws-local-stepfunctions` has no
 * `.waitForTaskToken`: the local pipeline waits on `TaskTokens.wait` instead.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { RUN_ID_PATTERN } from '../core/names.ts';
import { listenLocal, readSignedJson } from './listen.ts';

type Settle = { resolve: (output: unknown) => void; reject: (error: Error) => void };

export class TaskTokens {
  private readonly waiting = new Map<string, Settle>();

  constructor(private readonly executions: LocalExecutions = {}) {}

  /** Resolves with the output a SendTaskSuccess carries; rejects, named by its `error`, on SendTaskFailure. */
  wait(token: string): Promise<unknown> {
    return new Promise((resolve, reject) => this.waiting.set(token, { resolve, reject }));
  }

  /** Tasks still waiting. */
  get pending(): number {
    return this.waiting.size;
  }

  /** Drops the tasks whose tokens start with `prefix` (their execution ended): they can no longer be answered. */
  forget(prefix: string): void {
    for (const [token, settle] of this.waiting) {
      if (!token.startsWith(prefix)) continue;
      this.waiting.delete(token);
      settle.reject(Object.assign(new Error('the execution ended'), { name: 'States.TaskFailed' }));
    }
  }

  /** Fails every waiting task (the platform is stopping). */
  abandon(reason: string): void {
    for (const [token, settle] of this.waiting) {
      this.waiting.delete(token);
      settle.reject(Object.assign(new Error(reason), { name: 'States.TaskFailed' }));
    }
  }

  /** One API call; returns the HTTP status and the JSON answer. */
  call(target: string, input: Record<string, unknown>): { status: number; body: unknown } {
    const action = target.replace(/^AWSStepFunctions\./, '');
    if (action === 'StartExecution' && this.executions.start) return this.start(input);
    if (action === 'StopExecution' && this.executions.stop) return this.stop(input);
    if (action === 'DescribeExecution' && this.executions.isRunning) return this.describe(input);
    const token = typeof input.taskToken === 'string' ? input.taskToken : '';
    const settle = this.waiting.get(token);
    if (!['SendTaskSuccess', 'SendTaskFailure', 'SendTaskHeartbeat'].includes(action)) {
      return {
        status: 400,
        body: { __type: 'UnknownOperationException', message: `${action} is not emulated` },
      };
    }
    if (!settle) {
      return { status: 400, body: { __type: 'TaskDoesNotExist', message: 'Task does not exist anymore' } };
    }
    if (action === 'SendTaskSuccess') {
      let output: unknown;
      try {
        output = JSON.parse(String(input.output ?? 'null'));
      } catch {
        return { status: 400, body: { __type: 'InvalidOutput', message: 'output is not JSON' } };
      }
      this.waiting.delete(token);
      settle.resolve(output);
    } else if (action === 'SendTaskFailure') {
      this.waiting.delete(token);
      const error = new Error(String(input.cause ?? ''));
      error.name = String(input.error ?? 'States.TaskFailed');
      settle.reject(error);
    }
    return { status: 200, body: {} };
  }

  private stop(input: Record<string, unknown>): { status: number; body: unknown } {
    const arn = typeof input.executionArn === 'string' ? input.executionArn : '';
    const name = arn.split(':').pop() ?? '';
    const why = {
      ...(typeof input.error === 'string' ? { error: input.error } : {}),
      ...(typeof input.cause === 'string' ? { cause: input.cause } : {}),
    };
    if (!name || !this.executions.stop?.(name, why)) return noSuchExecution(arn);
    return { status: 200, body: { stopDate: Date.now() / 1000 } };
  }

  /** DescribeExecution of a running execution (the local pipeline keeps no history of ended ones). */
  private describe(input: Record<string, unknown>): { status: number; body: unknown } {
    const arn = typeof input.executionArn === 'string' ? input.executionArn : '';
    const name = arn.split(':').pop() ?? '';
    if (!name || !this.executions.isRunning?.(name)) return noSuchExecution(arn);
    return { status: 200, body: { executionArn: arn, name, status: 'RUNNING' } };
  }

  private start(input: Record<string, unknown>): { status: number; body: unknown } {
    let parsed: unknown;
    try {
      parsed = JSON.parse(String(input.input ?? '{}'));
    } catch {
      return { status: 400, body: { __type: 'InvalidExecutionInput', message: 'input is not JSON' } };
    }
    const name = typeof input.name === 'string' && input.name !== '' ? input.name : crypto.randomUUID();
    // Step Functions' rule for execution names: 1 to 80 of letters, digits, "-" and "_".
    if (!RUN_ID_PATTERN.test(name)) {
      return {
        status: 400,
        body: { __type: 'InvalidName', message: `Invalid Name: '${name.slice(0, 80)}'` },
      };
    }
    // As Step Functions: a name is an execution's for good (AWS keeps it 90 days; here, while the process runs).
    if (this.executions.exists?.(name)) {
      return {
        status: 400,
        body: { __type: 'ExecutionAlreadyExists', message: `Execution Already Exists: '${name}'` },
      };
    }
    const executionArn = this.executions.start?.(name, parsed) ?? '';
    return { status: 200, body: { executionArn, startDate: Date.now() / 1000 } };
  }
}

/** What the local pipeline does for the execution calls (StartExecution, StopExecution, DescribeExecution). */
export interface LocalExecutions {
  /** Runs the pipeline on an input; returns the execution's ARN. */
  readonly start?: (name: string, input: unknown) => string;
  /** Stops a running execution by name; false when none runs by it. */
  readonly stop?: (name: string, why: { error?: string; cause?: string }) => boolean;
  readonly isRunning?: (name: string) => boolean;
  /** Whether an execution of that name was started (running or ended). */
  readonly exists?: (name: string) => boolean;
}

function noSuchExecution(arn: string): { status: number; body: unknown } {
  return {
    status: 400,
    body: { __type: 'ExecutionDoesNotExist', message: `Execution Does Not Exist: '${arn}'` },
  };
}

export interface LocalStepFunctionsApi {
  readonly url: string;
  stop(): Promise<void>;
}

/** Step Functions' own limit on a request (an execution's input is at most 256 KB). */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Serves `tokens` on 127.0.0.1 (`AWS_ENDPOINT_URL_SFN`). As Step Functions does behind IAM, it answers only
 * requests signed (SigV4) with the platform's local credentials — the ones the handlers and `nimbus local env`
 * use — so knowing the port is not enough to start, stop or answer an execution. Every answer is JSON; a
 * request it cannot read is a 400, and nothing a client sends can stop the process.
 */
export async function startStepFunctionsApi(
  tokens: TaskTokens,
  port: number,
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string },
): Promise<LocalStepFunctionsApi> {
  const answer = (res: ServerResponse, status: number, body: unknown) => {
    if (res.headersSent) return res.end();
    res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.0' });
    res.end(JSON.stringify(body));
  };
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const request = await readSignedJson(req, res, MAX_BODY_BYTES, credentials);
    if ('refused' in request) {
      return answer(res, request.refused, { __type: request.type, message: request.message });
    }
    const input = request.input;
    const result = tokens.call(String(req.headers['x-amz-target'] ?? ''), input);
    answer(res, result.status, result.body);
  };
  const server: Server = createServer((req, res) => {
    serve(req, res).catch((error: unknown) =>
      answer(res, 500, { __type: 'InternalFailure', message: (error as Error).message }),
    );
  });
  return listenLocal(server, port);
}
