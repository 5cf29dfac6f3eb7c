/**
 * Alarm states as the platform saw them change (in the models table, ALARM_KEYS): the current state of each
 * alarm, and every transition. The alarm-state function writes them from CloudWatch's state-change events
 * (the local alarms send the same events), so the monitoring API reads one store in both substrates.
 */
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AlarmKind, AlarmState } from '../core/alarms.ts';
import type { AlarmStatus } from '../core/api-types.ts';
import { ALARM_KEYS } from '../core/keys.ts';
import { documentClient } from './clients.ts';
import { tableName } from './config.ts';

/** Records a state change: the new current state, and the transition in the history. */
export async function recordAlarmState(status: AlarmStatus): Promise<void> {
  const table = tableName('models');
  // `model` is the table's partition key: the alarm's model is kept as `alarmModel`.
  const { model, ...rest } = status;
  const item = { ...rest, model: ALARM_KEYS.partition, ...(model ? { alarmModel: model } : {}) };
  await Promise.all([
    documentClient()
      .send(
        new PutCommand({
          TableName: table,
          Item: { ...item, sk: ALARM_KEYS.current(status.name) },
          // An older event delivered late does not overwrite a newer state.
          ConditionExpression: 'attribute_not_exists(sk) OR updatedAt <= :at',
          ExpressionAttributeValues: { ':at': status.updatedAt },
        }),
      )
      .catch((error: unknown) => {
        if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      }),
    documentClient().send(
      new PutCommand({
        TableName: table,
        Item: { ...item, sk: ALARM_KEYS.transition(status.updatedAt, status.name) },
      }),
    ),
  ]);
}

const STATES: readonly AlarmState[] = ['OK', 'ALARM', 'INSUFFICIENT_DATA'];
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * An alarm item as readers may rely on it, whatever wrote it (an older or broken version): a name (else its
 * key's), states among the three, a reason and a time.
 */
function alarmStatus(item: Record<string, unknown>): AlarmStatus {
  const { model: _partition, sk, alarmModel, ...rest } = item;
  const state = (value: unknown): AlarmState =>
    STATES.includes(value as AlarmState) ? (value as AlarmState) : 'INSUFFICIENT_DATA';
  const fromKey = text(sk)?.replace(/^(STATE#|HISTORY#[^#]*#)/, '');
  return {
    ...(rest as Partial<AlarmStatus>),
    name: text(rest.name) ?? fromKey ?? '',
    kind: (text(rest.kind) ?? 'drift') as AlarmKind,
    state: state(rest.state),
    previousState: state(rest.previousState),
    reason: text(rest.reason) ?? '',
    updatedAt: text(rest.updatedAt) ?? '1970-01-01T00:00:00.000Z',
    ...(text(alarmModel) ? { model: alarmModel as string } : {}),
  };
}

/** The current state of every alarm that has changed state at least once, by name. */
export async function listAlarmStates(): Promise<AlarmStatus[]> {
  const items = await query(ALARM_KEYS.currentPrefix, true);
  return items.sort((a, b) => a.name.localeCompare(b.name));
}

/** State changes, newest first. */
export async function alarmHistory(limit = 100): Promise<AlarmStatus[]> {
  return query(ALARM_KEYS.transitionPrefix, false, limit);
}

async function query(prefix: string, forward: boolean, limit?: number): Promise<AlarmStatus[]> {
  const items: AlarmStatus[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documentClient().send(
      new QueryCommand({
        TableName: tableName('models'),
        KeyConditionExpression: 'model = :p AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':p': ALARM_KEYS.partition, ':prefix': prefix },
        ScanIndexForward: forward,
        ...(limit === undefined ? {} : { Limit: limit - items.length }),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) items.push(alarmStatus(item));
    start = page.LastEvaluatedKey;
  } while (start && (limit === undefined || items.length < limit));
  return items;
}
