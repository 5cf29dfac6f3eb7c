/**
 * The local stand-in for the Step Functions API's task-token calls (SendTaskSuccess, SendTaskFailure,
 * SendTaskHeartbeat), StartExecution, StopExecution and DescribeExecution (of running executions), over the same JSON protocol the AWS SDK speaks, so the registry API's
 * handler answers a waiting pipeline, and an alarm action starts a run, with the same SDK calls locally and in
 * AWS. `aws-local-stepfunctions` has no
 * `.waitForTaskToken`: the local pipeline waits on `TaskTokens.wait` instead.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

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

/** Serves `tokens` on 127.0.0.1 (`AWS_ENDPOINT_URL_SFN`). */
export async function startStepFunctionsApi(
  tokens: TaskTokens,
  port: number,
): Promise<LocalStepFunctionsApi> {
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    let input: Record<string, unknown> = {};
    try {
      input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      // answered as an unknown task below
    }
    const answer = tokens.call(String(req.headers['x-amz-target'] ?? ''), input);
    res.writeHead(answer.status, { 'Content-Type': 'application/x-amz-json-1.0' });
    res.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
