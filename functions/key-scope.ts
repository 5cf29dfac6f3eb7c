/**
 * What the API key of a request opens (core/api-keys.ts): its scope record, read from the models table at most
 * NIMBUS_ALIAS_CACHE_MS ago (default 1 s), so that a revocation is refused within that and a busy key reads the
 * table about once a second. Key ids come from the gateway, which checked the key: no client makes them up.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { getApiKeyRecord } from '../aws/api-key-records.ts';
import {
  type ApiKeyRecord,
  type KeyScope,
  outOfScope,
  scopeAllows,
  scopeOf,
  UNSCOPED,
} from '../core/api-keys.ts';
import { BoundedCache } from '../core/cache.ts';
import { ENV } from '../core/contract.ts';
import { ForbiddenError } from '../core/errors.ts';

const records = new BoundedCache<ApiKeyRecord | undefined>(
  Number(process.env[ENV.aliasCacheMs] ?? 1000),
  10_000,
);

/** The scope of the request's API key; a request without one (IAM, no key) is not scoped by a key. */
export async function keyScope(event: APIGatewayProxyEvent): Promise<KeyScope> {
  const id = event.requestContext?.identity?.apiKeyId;
  if (!id) return UNSCOPED;
  return scopeOf(await records.get(id, () => getApiKeyRecord(id)));
}

/** Refuses a model outside the key's scope, in the same words whether or not the model exists. */
export async function requireInScope(event: APIGatewayProxyEvent, model: string): Promise<void> {
  if (!scopeAllows(await keyScope(event), model)) throw new ForbiddenError(outOfScope(model));
}
