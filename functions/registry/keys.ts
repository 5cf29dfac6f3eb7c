/**
 * The registry's API keys (core/api-keys.ts), with the admin credential: create a key scoped to models (its
 * value is answered once, then never again), list them, revoke one.
 */

import { listApiKeys } from '../../aws/api-key-records.ts';
import { createApiKey, revokeApiKey } from '../../aws/api-keys.ts';
import { KEY_ID_PATTERN, parseKeyModels } from '../../core/api-keys.ts';
import { InvalidRequestError, NotFoundError } from '../../core/errors.ts';
import { NAME_PATTERN, quoteName } from '../../core/names.ts';
import { adminCaller, change, route } from './api.ts';

route('createApiKey', async (ctx) => {
  const { body, actor } = await change(ctx);
  const { name } = body;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new InvalidRequestError(`"name" must be a name like "team-a" (${NAME_PATTERN.source})`, 'name');
  }
  const { record, value } = await createApiKey(name, parseKeyModels(body.models), actor.who);
  return { key: record, value };
});

route('listApiKeys', async (ctx) => {
  adminCaller(ctx);
  return { keys: await listApiKeys() };
});

route('revokeApiKey', async (ctx) => {
  const { actor } = await change(ctx);
  const id = ctx.params.keyId ?? '';
  // An id no key can have is no key: a 404 before any table is read (DynamoDB refuses keys over 1 KB).
  if (!KEY_ID_PATTERN.test(id)) throw new NotFoundError(`no API key ${quoteName(id)}`);
  return { key: await revokeApiKey(id, actor.who) };
});
