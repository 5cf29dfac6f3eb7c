/**
 * The scope records of API keys (core/api-keys.ts) in the models table, as the functions that check a key
 * read them; aws/api-keys.ts creates and revokes keys (and holds the API Gateway client, which only the
 * registry needs).
 */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ApiKeyRecord } from '../core/api-keys.ts';
import { API_KEY_KEYS } from '../core/keys.ts';
import { tableName } from './config.ts';
import { db } from './dynamo.ts';

const table = () => tableName('models');

export async function getApiKeyRecord(id: string): Promise<ApiKeyRecord | undefined> {
  const out = await db().send(
    new GetCommand({ TableName: table(), Key: { model: API_KEY_KEYS.partition, sk: API_KEY_KEYS.key(id) } }),
  );
  return out.Item ? strip(out.Item) : undefined;
}

/** Every key the registry created, revoked ones too, newest first. */
export async function listApiKeys(): Promise<ApiKeyRecord[]> {
  const records: ApiKeyRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db().send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: 'model = :p AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':p': API_KEY_KEYS.partition, ':prefix': API_KEY_KEYS.prefix },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of out.Items ?? []) records.push(strip(item));
    start = out.LastEvaluatedKey;
  } while (start);
  return records.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

function strip(item: Record<string, unknown>): ApiKeyRecord {
  const { model: _partition, sk: _sk, ...record } = item;
  return record as unknown as ApiKeyRecord;
}
