/**
 * What the table modules share: the document client and the one check for a lost conditional write (every
 * table's), and for the dataset-versions and runs tables the update that sets the fields given and the
 * readers' stand-ins for missing fields. Every write is a single-item (conditional) write: no transactions,
 * so the same code runs on dynalite.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from './clients.ts';
import { tableName } from './config.ts';

export const db = () => documentClient();
/** What a record missing every time field is taken to date from. */
export const EPOCH = '1970-01-01T00:00:00.000Z';
/** A field's value when it is a string, else undefined (a tolerant reader's first step). */
export const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Whether a write failed its condition (lost a race, or found what it must not), by class or by name. */
export function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as { name?: string }).name === 'ConditionalCheckFailedException'
  );
}

/** Sets the fields given (undefined ones are left alone) and appends to one list attribute. */
export async function updateFields(
  role: 'datasets' | 'runs',
  key: Record<string, string>,
  fields: Record<string, unknown>,
  append?: Record<string, unknown>,
) {
  const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
  const [list, item] = Object.entries(append ?? {})[0] ?? [];
  if (entries.length === 0 && list === undefined) return;
  const sets = entries.map((_, i) => `#f${i} = :v${i}`);
  if (list !== undefined) sets.push('#list = list_append(if_not_exists(#list, :empty), :item)');
  await db().send(
    new UpdateCommand({
      TableName: tableName(role),
      Key: key,
      UpdateExpression: `SET ${sets.join(', ')}`,
      ExpressionAttributeNames: {
        ...Object.fromEntries(entries.map(([name], i) => [`#f${i}`, name])),
        ...(list === undefined ? {} : { '#list': list }),
      },
      ExpressionAttributeValues: {
        ...Object.fromEntries(entries.map(([, value], i) => [`:v${i}`, value])),
        ...(list === undefined ? {} : { ':empty': [], ':item': [item] }),
      },
    }),
  );
}
