/**
 * What a running local platform is reached at (`.nimbus/endpoints.json`), and the environment and shell lines
 * that point the AWS SDK, awscli and the platform's own code at it. Kept apart from platform.ts so that a
 * client (the `nimbus` CLI) reads them without loading the emulators and the pipeline runner.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { BUCKET_ENV, type BucketRole, TABLE_ENV, type TableRole } from '../core/contract.ts';

export interface LocalEndpoints {
  readonly s3: string;
  readonly dynamodb: string;
  readonly api: string;
  /** The task-token calls of the Step Functions API (approvals). */
  readonly stepFunctions: string;
  /** API Gateway's control plane: the API keys the registry creates (local/api-keys.ts). */
  readonly apiGateway: string;
  /**
   * SageMaker's and Batch's describe calls for the local training jobs (local/training-api.ts); absent in an
   * endpoints file an older version wrote.
   */
  readonly training?: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly apiKey: string;
  /** Registry changes (promote, roll back, approve…): the `x-nimbus-admin-key` header. */
  readonly adminKey: string;
  readonly datasetsBucket: string;
  readonly artifactsBucket: string;
  readonly tables: Record<TableRole, string>;
  readonly stateMachineArn: string;
  /** The web dashboard's page (it asks for the API key; `#key=<apiKey>` after it fills it in). */
  readonly dashboard: string;
}

/** Writes the endpoints for other tools (awscli, the tests, scripts) to read. */
export function writeEndpointsFile(file: string, endpoints: LocalEndpoints): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });
}

/**
 * The environment that points the AWS SDK and the platform's own code (buckets and tables by the contract's
 * names) at a local platform: what `npm start` sets for its handlers, and what a CLI reads from the endpoints.
 */
export function platformEnvironment(
  endpoints: Pick<
    LocalEndpoints,
    | 's3'
    | 'dynamodb'
    | 'region'
    | 'accessKeyId'
    | 'secretAccessKey'
    | 'datasetsBucket'
    | 'artifactsBucket'
    | 'tables'
  >,
): Record<string, string> {
  const buckets: Record<BucketRole, string> = {
    datasets: endpoints.datasetsBucket,
    artifacts: endpoints.artifactsBucket,
  };
  return {
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_REGION: endpoints.region,
    // awscli v1 and boto3 read this one, not AWS_REGION.
    AWS_DEFAULT_REGION: endpoints.region,
    AWS_ACCESS_KEY_ID: endpoints.accessKeyId,
    AWS_SECRET_ACCESS_KEY: endpoints.secretAccessKey,
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    ...Object.fromEntries(
      Object.entries(BUCKET_ENV).map(([role, name]) => [name, buckets[role as BucketRole]]),
    ),
    ...Object.fromEntries(
      Object.entries(TABLE_ENV).map(([role, name]) => [name, endpoints.tables[role as TableRole]]),
    ),
  };
}

/** `export` lines that point awscli and the AWS SDKs at the local services. */
export function shellExports(endpoints: LocalEndpoints): string[] {
  return [
    `export AWS_ENDPOINT_URL_S3=${endpoints.s3}`,
    `export AWS_ENDPOINT_URL_DYNAMODB=${endpoints.dynamodb}`,
    // The local training jobs' accounts: `aws sagemaker describe-training-job`, `aws batch describe-jobs`.
    ...(endpoints.training
      ? [
          `export AWS_ENDPOINT_URL_SAGEMAKER=${endpoints.training}`,
          `export AWS_ENDPOINT_URL_BATCH=${endpoints.training}`,
        ]
      : []),
    `export AWS_REGION=${endpoints.region}`,
    // awscli v1 and boto3 read this one, not AWS_REGION.
    `export AWS_DEFAULT_REGION=${endpoints.region}`,
    `export AWS_ACCESS_KEY_ID=${endpoints.accessKeyId}`,
    `export AWS_SECRET_ACCESS_KEY=${endpoints.secretAccessKey}`,
    'export AWS_REQUEST_CHECKSUM_CALCULATION=WHEN_REQUIRED',
    // Service endpoints from the environment came with awscli 2.13 / 1.29 and boto3 1.28 (botocore 1.31).
    '# awscli before 2.13 and boto3 before 1.28 ignore AWS_ENDPOINT_URL_*: pass --endpoint-url "$AWS_ENDPOINT_URL_S3" (or _DYNAMODB), or endpoint_url=',
  ];
}
