/**
 * Alarm state changes: what EventBridge delivers when one of the platform's CloudWatch alarms changes state
 * (the local alarms send the same event). Records the new state and the transition for the monitoring API and
 * the dashboard, and acts on it as configured (`NIMBUS_ALARM_ACTIONS`, core/alarms.ts AlarmActions): a canary
 * alarm rolls the canary back (the default), and — when asked for — a drift alarm starts a training run on the
 * model's newest dataset version. Notifying people is the SNS topic's job in AWS.
 * Input: a "CloudWatch Alarm State Change" event. Output: what was recorded and done.
 */
import { recordAlarmState } from '../../aws/alarms.ts';
import { currentAlias, rollback } from '../../aws/model-registry.ts';
import { type AlarmActions, type AlarmStateChangeEvent, parseAlarmName } from '../../core/alarms.ts';
import { ENV, PRODUCTION_ALIAS } from '../../core/contract.ts';
import { ConflictError } from '../../core/errors.ts';
import { createLogger } from '../logger.ts';
import { startRetraining } from './retrain.ts';

const logger = createLogger('alarm-state');
/** Who the registry's audit log names for what an alarm does on its own. */
export const MONITOR_ACTOR = 'nimbus-monitor';

function configuredActions(): AlarmActions {
  const text = process.env[ENV.alarmActions];
  if (!text) return {};
  try {
    return JSON.parse(text) as AlarmActions;
  } catch {
    logger.warn(`${ENV.alarmActions} is not JSON: the alarm actions are off`, { value: text });
    return { rollbackCanary: false };
  }
}

export interface AlarmStateResult {
  readonly alarm: string;
  readonly state: string;
  readonly action?: string;
}

export async function handler(event: AlarmStateChangeEvent): Promise<AlarmStateResult> {
  const { alarmName, state, previousState, configuration } = event.detail;
  const parsed = parseAlarmName(alarmName);
  if (!parsed) {
    logger.warn('not one of the platform alarms: ignored', { alarmName });
    return { alarm: alarmName, state: state.value };
  }
  await recordAlarmState({
    name: alarmName,
    kind: parsed.kind,
    ...(parsed.model ? { model: parsed.model } : {}),
    state: state.value,
    previousState: previousState.value,
    reason: state.reason,
    ...(configuration.description ? { description: configuration.description } : {}),
    updatedAt: state.timestamp,
  });
  logger.info('alarm state changed', { alarmName, from: previousState.value, to: state.value });
  const done = (action?: string): AlarmStateResult => ({
    alarm: alarmName,
    state: state.value,
    ...(action ? { action } : {}),
  });
  if (state.value !== 'ALARM' || !parsed.model) return done();

  const actions = configuredActions();
  if (parsed.kind === 'canary' && actions.rollbackCanary !== false) {
    const alias = await currentAlias(parsed.model, PRODUCTION_ALIAS);
    if (!alias?.state.canary) return done('no canary to roll back');
    try {
      const entry = await rollback(
        parsed.model,
        PRODUCTION_ALIAS,
        { who: MONITOR_ACTOR, why: `alarm ${alarmName}: ${state.reason}` },
        { expectedRevision: alias.revision },
      );
      logger.warn('canary rolled back', { model: parsed.model, revision: entry.revision });
      return done(`rolled the canary back (revision ${entry.revision})`);
    } catch (error) {
      if (error instanceof ConflictError) return done(`not rolled back: ${error.message}`);
      throw error;
    }
  }
  if (parsed.kind === 'drift' && actions.retrainOnDrift) {
    const action = await startRetraining(parsed.model, alarmName, state.reason);
    logger.warn('retraining on drift', { model: parsed.model, action });
    return done(action);
  }
  return done();
}
