/**
 * `npm start`: the platform on this machine. Starts the local substrate, prints the endpoints (and writes
 * them to `.nimbus/endpoints.json`), shows each pipeline step as it happens, and by default runs a demo:
 * upload iris.csv, wait for the model, predict over HTTP.
 */
import './node-version.mjs';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_TRAINING_BUDGET } from '../core/budget.ts';
import { API } from '../core/contract.ts';
import { REPO_ROOT } from '../core/repo.ts';
import { type LocalEndpoints, shellExports, writeEndpointsFile } from '../local/endpoints.ts';
import { PortInUseError } from '../local/listen.ts';
import type { ExecutionOutcome } from '../local/pipeline.ts';
import { DEFAULT_PORTS, type LocalPlatform, startLocalPlatform } from '../local/platform.ts';
import { printable } from './output.ts';

const DEMO_DATASET = 'iris';
const DEMO_FILE = join(REPO_ROOT, 'examples', 'iris.csv');
const DEMO_INSTANCE = { sepal_length: 6.1, sepal_width: 2.8, petal_length: 4.7, petal_width: 1.2 };

interface StartOptions {
  readonly dataDir: string;
  readonly endpointsFile: string;
  readonly demo: boolean;
  readonly once: boolean;
  readonly s3Port: number;
  readonly dynamodbPort: number;
  readonly apiPort: number;
  readonly stepFunctionsPort: number;
  readonly apiGatewayPort: number;
  readonly trainingPort: number;
  readonly training: 'batch' | 'sagemaker';
  readonly monitorInterval: number;
  readonly trainingBudgetMinutes: number;
  readonly trainingBudgetParameters: number;
  readonly trainingBudgetRunMinutes: number;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('a positive number');
  return n;
}

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number of seconds, at least 1');
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('a port is 0-65535 (0: any free)');
  return n;
}

/** Each endpoint's port option, for the line that says a port is taken. */
const PORT_OPTIONS = [
  ['S3', '--s3-port', 's3Port'],
  ['DynamoDB', '--dynamodb-port', 'dynamodbPort'],
  ['the API', '--api-port', 'apiPort'],
  ['Step Functions', '--step-functions-port', 'stepFunctionsPort'],
  ['API Gateway keys', '--api-gateway-port', 'apiGatewayPort'],
  ['SageMaker and Batch describe calls', '--training-port', 'trainingPort'],
] as const satisfies readonly (readonly [string, string, keyof StartOptions])[];

const program = new Command('nimbus-start')
  .description('Run the Nimbus ML platform on this machine (S3, DynamoDB, the pipeline and the predict API).')
  .option('--data-dir <dir>', 'where datasets, registries and the API key are kept', '.nimbus/data')
  .option('--endpoints-file <file>', 'where to write the endpoints as JSON', '.nimbus/endpoints.json')
  .option('--no-demo', 'only serve: do not upload the iris demo dataset')
  .option('--once', 'run the demo, print a prediction and exit (0 on success)', false)
  .option('--s3-port <port>', 'S3 endpoint port', port, DEFAULT_PORTS.s3)
  .option('--dynamodb-port <port>', 'DynamoDB endpoint port', port, DEFAULT_PORTS.dynamodb)
  .option('--api-port <port>', 'predict and registry API port', port, DEFAULT_PORTS.api)
  .option(
    '--step-functions-port <port>',
    'Step Functions task-token endpoint port (approvals)',
    port,
    DEFAULT_PORTS.stepFunctions,
  )
  .option(
    '--api-gateway-port <port>',
    "API Gateway's control-plane endpoint port (the API keys the registry creates)",
    port,
    DEFAULT_PORTS.apiGateway,
  )
  .option(
    '--training-port <port>',
    "SageMaker's and Batch's describe endpoint port (the training jobs a run's cost is read from)",
    port,
    DEFAULT_PORTS.training,
  )
  .option(
    '--monitor-interval <seconds>',
    "how often the drift monitor compares captured traffic with the baselines (the drift alarms' period)",
    positiveSeconds,
    900,
  )
  .option(
    '--training-budget-minutes <minutes>',
    'longest a training job trains, then it keeps its best epoch (a manifest may ask for less)',
    positiveNumber,
    DEFAULT_TRAINING_BUDGET.minutes,
  )
  .option(
    '--training-budget-parameters <count>',
    'most parameters a model may have (a manifest may ask for fewer)',
    positiveNumber,
    DEFAULT_TRAINING_BUDGET.parameters,
  )
  .option(
    '--training-budget-run-minutes <minutes>',
    "minutes all of a run's training jobs share (a search's trials; a manifest may ask for less)",
    positiveNumber,
    DEFAULT_TRAINING_BUDGET.runMinutes,
  )
  .addOption(
    new Option('--training <platform>', 'training task the pipeline takes')
      .choices(['batch', 'sagemaker'])
      .default('batch'),
  )
  .action(async (options: StartOptions) => {
    process.exitCode = await run(options);
  });

async function run(options: StartOptions): Promise<number> {
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`;
  let platform: LocalPlatform;
  try {
    platform = await startLocalPlatform({
      dataDir: options.dataDir,
      ports: {
        s3: options.s3Port,
        dynamodb: options.dynamodbPort,
        api: options.apiPort,
        stepFunctions: options.stepFunctionsPort,
        apiGateway: options.apiGatewayPort,
        training: options.trainingPort,
      },
      trainingPlatform: options.training,
      monitorIntervalSeconds: options.monitorInterval,
      trainingBudget: {
        minutes: options.trainingBudgetMinutes,
        parameters: options.trainingBudgetParameters,
        runMinutes: options.trainingBudgetRunMinutes,
      },
    });
  } catch (error) {
    if (error instanceof PortInUseError) {
      const [service, option] = PORT_OPTIONS.find(([, , key]) => options[key] === error.port) ?? [
        '',
        '--…-port',
      ];
      console.error(
        `nimbus: port ${error.port}${service ? ` (${service})` : ''} is already in use — is another \`npm start\` running? ` +
          `Stop it, or choose another port with ${option} <port> (0: any free one).`,
      );
      return 1;
    }
    console.error(`nimbus: could not start the platform: ${(error as Error).message}`);
    return 1;
  }
  const { endpoints } = platform;
  const endpointsFile = resolve(options.endpointsFile);
  writeEndpointsFile(endpointsFile, endpoints);
  printBanner(endpoints, endpointsFile);

  platform.pipeline.on('started', (runId, key) =>
    console.log(
      printable(`${elapsed()}  run ${short(runId)}  started by s3://${endpoints.datasetsBucket}/${key}`),
    ),
  );
  platform.pipeline.on('step', (step) => {
    if (step.type === 'entered') return;
    const mark =
      step.type === 'succeeded' ? 'ok' : step.type === 'retried' ? 'retry' : `failed (${step.error})`;
    console.log(printable(`${elapsed()}  run ${short(step.runId)}  ${step.state.padEnd(24)} ${mark}`));
  });
  platform.pipeline.on('training', (progress) => {
    if (progress.event !== 'epoch') return;
    const p = progress as unknown as {
      epoch: number;
      epochs: number;
      loss: number;
      validationAccuracy?: number;
    };
    const validation =
      p.validationAccuracy === undefined ? '' : `  val_acc ${p.validationAccuracy.toFixed(3)}`;
    console.log(
      `${elapsed()}  run ${short(progress.runId)}    epoch ${p.epoch}/${p.epochs}  loss ${p.loss.toFixed(4)}${validation}`,
    );
  });
  platform.monitoring.on('change', ({ alarm, from, to, reason }) => {
    // Alarms settling from INSUFFICIENT_DATA to OK at start are not news.
    if (from === 'INSUFFICIENT_DATA' && to === 'OK') return;
    console.log(printable(`${elapsed()}  alarm ${alarm.name}  ${from} → ${to}: ${reason}`));
  });
  platform.monitoring.on('monitorError', (error) =>
    console.error(printable(`${elapsed()}  monitoring: ${(error as Error).message}`)),
  );
  platform.pipeline.on('finished', (outcome) => {
    const why = outcome.cause ?? outcome.error;
    const reason = outcome.status !== 'SUCCEEDED' && why ? `: ${why}` : '';
    console.log(printable(`${elapsed()}  run ${short(outcome.runId)}  ${outcome.status}${reason}`));
  });

  let code = 0;
  if (options.demo || options.once) {
    code = await demo(platform, elapsed);
  }
  if (options.once) {
    await platform.stop();
    return code;
  }
  console.log('\nServing. Press Ctrl+C to stop.');
  await new Promise<void>((resolveStop) => {
    const stop = () => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  console.log('\nStopping…');
  await platform.stop();
  return code;
}

async function demo(platform: LocalPlatform, elapsed: () => string): Promise<number> {
  const { endpoints } = platform;
  const key = `datasets/${DEMO_DATASET}/iris.csv`;
  console.log(`\nDemo: uploading ${DEMO_DATASET} to s3://${endpoints.datasetsBucket}/${key}`);
  const finished = new Promise<ExecutionOutcome>((resolveRun) => {
    const onStarted = (runId: string, startedKey: string) => {
      if (startedKey !== key) return;
      platform.pipeline.off('started', onStarted);
      const onFinished = (outcome: ExecutionOutcome) => {
        if (outcome.runId !== runId) return;
        platform.pipeline.off('finished', onFinished);
        resolveRun(outcome);
      };
      platform.pipeline.on('finished', onFinished);
    };
    platform.pipeline.on('started', onStarted);
  });
  const s3 = new S3Client({
    endpoint: endpoints.s3,
    region: endpoints.region,
    forcePathStyle: true,
    credentials: { accessKeyId: endpoints.accessKeyId, secretAccessKey: endpoints.secretAccessKey },
  });
  await s3.send(
    new PutObjectCommand({ Bucket: endpoints.datasetsBucket, Key: key, Body: readFileSync(DEMO_FILE) }),
  );
  s3.destroy();
  const outcome = await finished;
  if (outcome.status !== 'SUCCEEDED') {
    console.error(
      `\nThe demo run ended ${outcome.status}: ${outcome.cause ?? outcome.error ?? 'no reason given'}`,
    );
    return 1;
  }

  const url = `${endpoints.api}${API.predictPath(DEMO_DATASET)}`;
  const body = JSON.stringify({ instances: [DEMO_INSTANCE] });
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [API.apiKeyHeader]: endpoints.apiKey },
    body,
  });
  const answer = await response.text();
  console.log(
    `${elapsed()}  model served\n\nPredict over HTTP:\n  curl -s -X POST '${url}' \\\n    -H '${API.apiKeyHeader}: ${endpoints.apiKey}' -H 'content-type: application/json' \\\n    -d '${body}'`,
  );
  console.log(`\nPrediction (HTTP ${response.status}):\n  ${answer}`);
  return response.ok ? 0 : 1;
}

function printBanner(endpoints: LocalEndpoints, endpointsFile: string): void {
  console.log(`Nimbus ML is running on this machine.

  S3         ${endpoints.s3}   (datasets bucket: ${endpoints.datasetsBucket})
  DynamoDB   ${endpoints.dynamodb}
  API        ${endpoints.api}   (header ${API.apiKeyHeader}: ${endpoints.apiKey})
  Registry   ${endpoints.api}/v1/registry/models   (changes: header ${API.adminKeyHeader}: ${endpoints.adminKey})
  Dashboard  ${endpoints.dashboard}#key=${encodeURIComponent(endpoints.apiKey)}

Point awscli or an AWS SDK at it:
${shellExports(endpoints)
  .map((line) => `  ${line}`)
  .join('\n')}
Then \`aws s3 cp my.csv s3://${endpoints.datasetsBucket}/datasets/my/my.csv\` trains a model named "my";
a folder of class folders of images trains once its marker is there:
  aws s3 cp --recursive pets/ s3://${endpoints.datasetsBucket}/datasets/pets/
  aws s3api put-object --bucket ${endpoints.datasetsBucket} --key datasets/pets/_SUCCESS
(awscli older than 2.13 ignores AWS_ENDPOINT_URL_S3: add --endpoint-url ${endpoints.s3}).
Endpoints as JSON: ${endpointsFile}
`);
}

function short(runId: string): string {
  return runId.slice(0, 8);
}

await program.parseAsync();
