/**
 * Which platform a `nimbus` command talks to: the local one (`npm start` / `nimbus local up`, through its
 * endpoints file) or a deployed stack (`--stack <name>`, through its CloudFormation outputs and API key).
 * Both become one `Target`: the API's URL and keys, the buckets and tables, and how the AWS SDK reaches them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { OUTPUTS, type TableRole } from '../core/contract.ts';
import type { LocalEndpoints } from '../local/endpoints.ts';
import { CliError, EXIT } from './output.ts';

export const DEFAULT_ENDPOINTS_FILE = '.nimbus/endpoints.json';

/** The options every command takes to choose its platform. */
export interface TargetOptions {
  readonly endpointsFile: string;
  readonly stack?: string;
  readonly region?: string;
}

export interface Target {
  readonly kind: 'local' | 'stack';
  /** The endpoints file or the stack name, for messages. */
  readonly source: string;
  readonly region: string;
  /** The API's base URL, without a trailing slash (`…/v1/models/…` follows). */
  readonly api: string;
  /** The API key (local: from the endpoints file; a stack: read with `apiKey()`). */
  readonly apiKey?: string;
  /** A stack's API key id (the `ApiKeyId` output). */
  readonly apiKeyId?: string;
  /** The local stand-in for IAM on registry changes; a stack signs them with SigV4 instead. */
  readonly adminKey?: string;
  readonly datasetsBucket: string;
  readonly artifactsBucket: string;
  readonly tables: Readonly<Record<TableRole, string>>;
  /** The local emulators' endpoints and static credentials; a stack uses the default AWS credential chain. */
  readonly local?: {
    readonly s3: string;
    readonly dynamodb: string;
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
  };
}

/** How to start the local platform: the hint of every "no local platform" error. */
export const START_HINT =
  'start it with `nimbus local up` (or `npm start`), or pass --endpoints-file or --stack';

/** Reads a local platform's endpoints file; a missing or broken file is "cannot reach the platform". */
export function readEndpointsFile(file: string): LocalEndpoints {
  const path = resolve(file);
  if (!existsSync(path)) throw new CliError(`no local platform at ${file}`, EXIT.unreachable, START_HINT);
  let endpoints: Partial<LocalEndpoints>;
  try {
    endpoints = JSON.parse(readFileSync(path, 'utf8')) as Partial<LocalEndpoints>;
  } catch (error) {
    throw new CliError(
      `${file} is not an endpoints file: ${(error as Error).message}`,
      EXIT.unreachable,
      START_HINT,
    );
  }
  const missing = (['api', 's3', 'dynamodb', 'apiKey', 'datasetsBucket', 'tables'] as const).filter(
    (key) => !endpoints[key],
  );
  if (missing.length > 0) {
    throw new CliError(`${file} lacks ${missing.join(', ')}`, EXIT.unreachable, START_HINT);
  }
  return endpoints as LocalEndpoints;
}

export function localTarget(endpoints: LocalEndpoints, file: string): Target {
  return {
    kind: 'local',
    source: file,
    region: endpoints.region,
    api: endpoints.api.replace(/\/+$/, ''),
    apiKey: endpoints.apiKey,
    adminKey: endpoints.adminKey,
    datasetsBucket: endpoints.datasetsBucket,
    artifactsBucket: endpoints.artifactsBucket,
    tables: endpoints.tables,
    local: {
      s3: endpoints.s3,
      dynamodb: endpoints.dynamodb,
      accessKeyId: endpoints.accessKeyId,
      secretAccessKey: endpoints.secretAccessKey,
    },
  };
}

/**
 * A deployed stack's outputs (OUTPUTS in core/contract.ts) as a target. The API key's value is not an output:
 * `apiKey()` reads it from API Gateway by the `ApiKeyId` output.
 */
export function stackTarget(
  stack: string,
  region: string,
  outputs: Readonly<Record<string, string>>,
): Target {
  const required = [
    OUTPUTS.apiUrl,
    OUTPUTS.apiKeyId,
    OUTPUTS.datasetsBucket,
    OUTPUTS.artifactsBucket,
    OUTPUTS.datasetsTable,
    OUTPUTS.runsTable,
    OUTPUTS.modelsTable,
  ];
  const missing = required.filter((key) => !outputs[key]);
  if (missing.length > 0) {
    throw new CliError(
      `stack ${stack} has no output ${missing.join(', ')}: is it a Nimbus ML stack?`,
      EXIT.notFound,
      'deploy it with `npx cdk deploy`, or name the stack that holds the NimbusPlatform construct',
    );
  }
  const output = (key: string) => outputs[key] as string;
  return {
    kind: 'stack',
    source: `stack ${stack} (${region})`,
    region,
    api: output(OUTPUTS.apiUrl).replace(/\/+$/, ''),
    apiKeyId: output(OUTPUTS.apiKeyId),
    datasetsBucket: output(OUTPUTS.datasetsBucket),
    artifactsBucket: output(OUTPUTS.artifactsBucket),
    tables: {
      datasets: output(OUTPUTS.datasetsTable),
      runs: output(OUTPUTS.runsTable),
      models: output(OUTPUTS.modelsTable),
    },
  };
}

/** The target that the global options name: `--stack` (with `--region`), else the endpoints file. */
export async function resolveTarget(options: TargetOptions): Promise<Target> {
  if (!options.stack) return localTarget(readEndpointsFile(options.endpointsFile), options.endpointsFile);
  // The SDK is loaded for a deployed stack only: the local platform's commands start without it.
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const client = new CloudFormationClient(options.region ? { region: options.region } : {});
  try {
    const region = await regionOf(client);
    const out = await client.send(new DescribeStacksCommand({ StackName: options.stack }));
    const outputs = Object.fromEntries(
      (out.Stacks?.[0]?.Outputs ?? []).flatMap((o) =>
        o.OutputKey && o.OutputValue ? [[o.OutputKey, o.OutputValue]] : [],
      ),
    );
    return stackTarget(options.stack, region, outputs);
  } catch (error) {
    if (error instanceof CliError) throw error;
    if (/does not exist/.test((error as Error).message)) {
      throw new CliError(
        `no stack ${options.stack}${options.region ? ` in ${options.region}` : ''}`,
        EXIT.notFound,
        'check the name and --region (`aws cloudformation list-stacks`)',
      );
    }
    throw awsError(error, `cannot read stack ${options.stack}`);
  } finally {
    client.destroy();
  }
}

/** The API key's value: local, from the endpoints file; a stack's, from API Gateway (GetApiKey). */
export async function apiKeyOf(target: Target): Promise<string> {
  if (target.apiKey) return target.apiKey;
  const { APIGatewayClient, GetApiKeyCommand } = await import('@aws-sdk/client-api-gateway');
  const client = new APIGatewayClient({ region: target.region });
  try {
    const out = await client.send(new GetApiKeyCommand({ apiKey: target.apiKeyId, includeValue: true }));
    if (!out.value) throw new CliError(`API key ${target.apiKeyId} has no value`, EXIT.forbidden);
    return out.value;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw awsError(error, `cannot read the API key ${target.apiKeyId}`);
  } finally {
    client.destroy();
  }
}

async function regionOf(client: CloudFormationClient): Promise<string> {
  try {
    return await client.config.region();
  } catch {
    throw new CliError(
      'no AWS region',
      EXIT.usage,
      'pass --region, or set AWS_REGION (or a region in your AWS profile)',
    );
  }
}

/** An AWS SDK error as one line and an exit code: credentials and IAM are 5, the network 4, absence 3. */
export function awsError(error: unknown, what: string): CliError {
  const e = error as {
    name?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const message = `${what}: ${e.message ?? String(error)}`;
  const name = e.name ?? '';
  if (name === 'CredentialsProviderError' || /credential/i.test(e.message ?? '')) {
    return new CliError(
      message,
      EXIT.forbidden,
      'configure AWS credentials (`aws configure`, AWS_PROFILE or `aws sso login`)',
    );
  }
  if (
    /AccessDenied|UnrecognizedClient|InvalidClientTokenId|ExpiredToken|InvalidAccessKeyId|SignatureDoesNotMatch|Forbidden/.test(
      name,
    ) ||
    e.$metadata?.httpStatusCode === 403
  ) {
    return new CliError(message, EXIT.forbidden, 'your AWS identity needs permission for this (IAM)');
  }
  if (/NoSuchKey|NoSuchBucket|ResourceNotFound|NotFound/.test(name) || e.$metadata?.httpStatusCode === 404) {
    return new CliError(message, EXIT.notFound);
  }
  if (isNetworkError(error)) {
    return new CliError(message, EXIT.unreachable, 'check your network, --stack and --region');
  }
  return new CliError(message, EXIT.failed);
}

/** A connection that could not be made (refused, no such host, reset, timed out), at any depth of `cause`. */
export function isNetworkError(error: unknown): boolean {
  for (
    let e = error as { code?: string; name?: string; cause?: unknown } | undefined, i = 0;
    e && i < 5;
    i++
  ) {
    if (
      /^(ECONNREFUSED|ENOTFOUND|ECONNRESET|EHOSTUNREACH|ETIMEDOUT|EAI_AGAIN|UND_ERR_CONNECT_TIMEOUT|UND_ERR_SOCKET)$/.test(
        e.code ?? '',
      ) ||
      e.name === 'TimeoutError'
    ) {
      return true;
    }
    if (Array.isArray((e as { errors?: unknown[] }).errors)) {
      if ((e as { errors: unknown[] }).errors.some(isNetworkError)) return true;
    }
    e = e.cause as typeof e;
  }
  return false;
}
