/**
 * Alarm states as the platform saw them change (in the models table, ALARM_KEYS): the current state of each
 * alarm, and every transition. The alarm-state function writes them from CloudWatch's state-change events
 * (the local alarms send the same events), so the monitoring API reads one store in both substrates.
 */
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AlarmKind, AlarmState } from '../core/alarms.ts';
import { ALARM_KEYS } from '../core/contract.ts';
import { documentClient } from './clients.ts';
import { tableName } from './config.ts';

export interface AlarmStatus {
  readonly name: string;
  readonly kind: AlarmKind;
  /** Absent for the alarms over all models. */
  readonly model?: string;
  readonly state: AlarmState;
  readonly previousState: AlarmState;
  readonly reason: string;
  readonly description?: string;
  readonly updatedAt: string;
}

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
    type Item = Omit<AlarmStatus, 'model'> & { model: string; sk: string; alarmModel?: string };
    for (const { model: _partition, sk: _sk, alarmModel, ...status } of (page.Items ?? []) as Item[]) {
      items.push({ ...status, ...(alarmModel ? { model: alarmModel } : {}) });
    }
    start = page.LastEvaluatedKey;
  } while (start && (limit === undefined || items.length < limit));
  return items;
}
