/**
 * The registry API (`/v1/registry/...`): models, versions, aliases and their history, the audit log and runs
 * to read; promotions, canaries, rollbacks, approvals, rejections and archiving to change. Changes need the
 * admin credential — IAM (SigV4) in AWS, the admin key in the local gateway — and name the caller in the
 * audit log with the `reason` the body gives. Approving or rejecting a version that a pipeline waits on
 * resumes it (Step Functions SendTaskSuccess with the decision).
 *
 * Its routes are those core/declaration.ts declares for it (docs/openapi.json describes them): model reads
 * and changes in models.ts, a version as an ONNX file in export.ts, datasets in datasets.ts, runs in runs.ts,
 * scoped API keys in keys.ts; what they share in api.ts. It answers exactly those: a declared route without an
 * answer fails at load.
 * Input: API Gateway REST proxy event. Output: proxy result.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { api } from './api.ts';
import './models.ts';
import './export.ts';
import './datasets.ts';
import './runs.ts';
import './keys.ts';

api.complete();

export function handler(event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult> {
  return api.handle(event, context);
}
