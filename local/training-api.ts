/**
 * The local stand-in for the describe calls of SageMaker's and Batch's APIs that price a run's training
 * (aws/training-jobs.ts): DescribeTrainingJob (SageMaker's JSON 1.1 protocol) and DescribeJobs,
 * DescribeJobQueues and DescribeComputeEnvironments (Batch's REST JSON protocol), answered from the local
 * jobs' ledger (local/training-ledger.ts) on one port — `AWS_ENDPOINT_URL_SAGEMAKER` and
 * `AWS_ENDPOINT_URL_BATCH` both point at it. As the services do behind IAM, it answers only requests signed
 * with the platform's local credentials.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type LocalEndpoint, listenLocal, readSignedJson } from './listen.ts';
import { describeComputeEnvironments, describeJobQueues, type TrainingLedger } from './training-ledger.ts';

/** Describe calls are small: a hundred ids at most (Batch's own limit on DescribeJobs). */
const MAX_BODY_BYTES = 64 * 1024;
const MAX_IDS = 100;

interface Answer {
  readonly status: number;
  readonly body: unknown;
  /** REST JSON names an error in a header; JSON 1.1 in the body's `__type`. */
  readonly errorType?: string;
}

const BATCH_CALLS: Record<string, string> = {
  '/v1/describejobs': 'jobs',
  '/v1/describejobqueues': 'jobQueues',
  '/v1/describecomputeenvironments': 'computeEnvironments',
};

/** One call: SageMaker's by its `X-Amz-Target`, Batch's by its path. */
export function answerTrainingCall(
  ledger: TrainingLedger,
  call: { readonly path: string; readonly target?: string; readonly input: Record<string, unknown> },
  where: { readonly account: string; readonly region: string },
): Answer {
  const { account, region } = where;
  if (call.target !== undefined && call.target !== '') {
    if (call.target !== 'SageMaker.DescribeTrainingJob') {
      return {
        status: 400,
        body: { __type: 'UnknownOperationException', message: `${call.target} is not emulated` },
      };
    }
    const name = typeof call.input.TrainingJobName === 'string' ? call.input.TrainingJobName : '';
    const job = ledger.describeTrainingJob(name, account, region);
    // SageMaker's answer for a name it does not know.
    if (!job)
      return {
        status: 400,
        body: { __type: 'ValidationException', message: 'Requested resource not found.' },
      };
    return { status: 200, body: job };
  }
  const field = BATCH_CALLS[call.path];
  if (!field) {
    return { status: 404, errorType: 'ClientException', body: { message: `no Batch call at ${call.path}` } };
  }
  const ids = call.input[field];
  if (!Array.isArray(ids) || ids.length > MAX_IDS || !ids.every((id) => typeof id === 'string')) {
    return {
      status: 400,
      errorType: 'ClientException',
      body: { message: `${field} must be a list of at most ${MAX_IDS} strings` },
    };
  }
  const answers = {
    jobs: () => ledger.describeJobs(ids, account, region),
    jobQueues: () => describeJobQueues(ids, account, region),
    computeEnvironments: () => describeComputeEnvironments(ids, account, region),
  } as const;
  return { status: 200, body: { [field]: answers[field as keyof typeof answers]() } };
}

/** Serves the training describe calls on 127.0.0.1. */
export async function startTrainingApi(
  ledger: TrainingLedger,
  port: number,
  options: {
    readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
    readonly account: string;
    readonly region: string;
  },
): Promise<LocalEndpoint> {
  const answer = (req: IncomingMessage, res: ServerResponse, result: Answer) => {
    if (res.headersSent) return res.end();
    const json = req.headers['x-amz-target'] ? 'application/x-amz-json-1.1' : 'application/json';
    res.writeHead(result.status, {
      'Content-Type': json,
      ...(result.errorType ? { 'x-amzn-ErrorType': result.errorType } : {}),
    });
    res.end(JSON.stringify(result.body));
  };
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const request = await readSignedJson(req, res, MAX_BODY_BYTES, options.credentials);
    if ('refused' in request) {
      return answer(req, res, {
        status: request.refused,
        errorType: request.refused === 403 ? request.type : 'ClientException',
        body: { __type: request.type, message: request.message },
      });
    }
    const target = req.headers['x-amz-target'];
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    answer(
      req,
      res,
      answerTrainingCall(
        ledger,
        { path, target: Array.isArray(target) ? target[0] : target, input: request.input },
        options,
      ),
    );
  };
  const server = createServer((req, res) => {
    serve(req, res).catch((error: unknown) =>
      answer(req, res, {
        status: 500,
        errorType: 'ServerException',
        body: { message: (error as Error).message },
      }),
    );
  });
  return listenLocal(server, port);
}
