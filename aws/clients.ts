/**
 * AWS SDK clients, configured once. Endpoints come from the standard `AWS_ENDPOINT_URL_*` variables, so the
 * same code talks to AWS or to the local emulators.
 */
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

let s3: S3Client | undefined;
let documents: DynamoDBDocumentClient | undefined;
let sfn: SFNClient | undefined;
let apiGateway: APIGatewayClient | undefined;

export function s3Client(): S3Client {
  s3 ??= new S3Client({
    // Path-style addressing for endpoints that are not *.amazonaws.com (the local emulator).
    forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL),
    // Checksums only where S3 requires them: keeps streamed uploads plain (see OFFLINE.md on s3rver).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return s3;
}

export function documentClient(): DynamoDBDocumentClient {
  documents ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documents;
}

/** Step Functions (`AWS_ENDPOINT_URL_SFN` locally): the registry API answers a waiting pipeline's task token. */
export function sfnClient(): SFNClient {
  sfn ??= new SFNClient({});
  return sfn;
}

/** API Gateway's control plane (`AWS_ENDPOINT_URL_API_GATEWAY` locally): the registry's API keys. */
export function apiGatewayClient(): APIGatewayClient {
  apiGateway ??= new APIGatewayClient({});
  return apiGateway;
}
