/**
 * Scoped API keys (core/api-keys.ts): the key itself in API Gateway, in the usage plan of the platform's REST
 * API (`NIMBUS_REST_API_ID`), so that the gateway checks and throttles it; its scope in the models table, by
 * key id, which the functions read (cached) for each request that names a model.
 *
 * Revoking marks the record first and deletes the key second: a key whose deletion failed is refused by its
 * record until the deletion is retried (revoking again).
 */
import {
  CreateApiKeyCommand,
  CreateUsagePlanKeyCommand,
  DeleteApiKeyCommand,
  GetUsagePlansCommand,
  NotFoundException,
} from '@aws-sdk/client-api-gateway';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ApiKeyRecord } from '../core/api-keys.ts';
import { ENV } from '../core/contract.ts';
import { ConfigurationError, NotFoundError } from '../core/errors.ts';
import { API_KEY_KEYS } from '../core/keys.ts';
import { getApiKeyRecord } from './api-key-records.ts';
import { apiGatewayClient } from './clients.ts';
import { requireEnv, tableName } from './config.ts';
import { db } from './dynamo.ts';

const table = () => tableName('models');
let usagePlan: Promise<string> | undefined;

/** The usage plan that holds the REST API's stage (found once per container). */
function usagePlanId(): Promise<string> {
  usagePlan ??= (async () => {
    const apiId = requireEnv(ENV.restApiId);
    let position: string | undefined;
    do {
      const page = await apiGatewayClient().send(new GetUsagePlansCommand({ position, limit: 500 }));
      const plan = page.items?.find((p) => p.apiStages?.some((stage) => stage.apiId === apiId));
      if (plan?.id) return plan.id;
      position = page.position;
    } while (position);
    throw new ConfigurationError(`no usage plan holds a stage of REST API ${apiId}`);
  })();
  usagePlan.catch(() => {
    usagePlan = undefined;
  });
  return usagePlan;
}

/** Creates a key in the usage plan and records its scope; the key's value is returned once, here. */
export async function createApiKey(
  name: string,
  models: readonly string[],
  who: string,
): Promise<{ record: ApiKeyRecord; value: string }> {
  const plan = await usagePlanId();
  const created = await apiGatewayClient().send(
    new CreateApiKeyCommand({
      name: `nimbus-${name}`,
      description: `Nimbus ML key "${name}" for ${models.join(', ')}`,
      enabled: true,
    }),
  );
  if (!created.id || !created.value) throw new Error('API Gateway created a key without an id or value');
  const record: ApiKeyRecord = {
    id: created.id,
    name,
    models: [...models],
    createdAt: new Date().toISOString(),
    createdBy: who,
  };
  // The scope first: a key in the plan without a record would open every model.
  await db().send(
    new PutCommand({
      TableName: table(),
      Item: { model: API_KEY_KEYS.partition, sk: API_KEY_KEYS.key(record.id), ...record },
      ConditionExpression: 'attribute_not_exists(sk)',
    }),
  );
  await apiGatewayClient().send(
    new CreateUsagePlanKeyCommand({ usagePlanId: plan, keyId: created.id, keyType: 'API_KEY' }),
  );
  return { record, value: created.value };
}

/** Revokes a key: its record refuses it from now on, and the gateway's key is deleted. */
export async function revokeApiKey(id: string, who: string): Promise<ApiKeyRecord> {
  const existing = await getApiKeyRecord(id);
  if (!existing) throw new NotFoundError(`no API key "${id}" was created by the registry`);
  const revoked: ApiKeyRecord = existing.revokedAt
    ? existing
    : { ...existing, revokedAt: new Date().toISOString(), revokedBy: who };
  if (!existing.revokedAt) {
    await db().send(
      new UpdateCommand({
        TableName: table(),
        Key: { model: API_KEY_KEYS.partition, sk: API_KEY_KEYS.key(id) },
        UpdateExpression: 'SET revokedAt = :at, revokedBy = :by',
        ExpressionAttributeValues: { ':at': revoked.revokedAt, ':by': who },
      }),
    );
  }
  try {
    await apiGatewayClient().send(new DeleteApiKeyCommand({ apiKey: id }));
  } catch (error) {
    if (!(error instanceof NotFoundException)) throw error; // deleted by an earlier revoke
  }
  return revoked;
}
