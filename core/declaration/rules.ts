/**
 * Every event rule and schedule of the platform: what it matches, its target, its delivery. One part of the
 * platform's declaration, core/declaration.ts.
 */
import { alarmEventPattern } from '../alarms.ts';
import {
  batchEventPattern,
  executionEndedEventPattern,
  modelImportEventPattern,
  uploadEventPattern,
} from '../events.ts';
import type { FunctionName } from './functions.ts';

type PatternValue =
  | string
  | number
  | boolean
  | null
  | { readonly prefix: string }
  | { readonly wildcard: string };
/** An EventBridge event pattern, in the forms the platform's rules use. */
export interface EventPattern {
  readonly [field: string]: readonly PatternValue[] | EventPattern;
}

/** The names a rule's pattern is made of, known once the platform's resources are named. */
export interface RuleNames {
  readonly datasetsBucket: string;
  readonly stateMachineArn: string;
  /** The first part of every platform alarm's name. */
  readonly alarmPrefix: string;
}

export interface RuleDeclaration {
  readonly description: string;
  /** An event pattern, or `monitorInterval`: a schedule at the platform's monitoring interval. */
  readonly source:
    | { readonly pattern: (names: RuleNames) => EventPattern }
    | { readonly schedule: 'monitorInterval' };
  /** A function, or the training pipeline (a Step Functions execution with the event as input). */
  readonly target: FunctionName | 'pipeline';
  /** How often EventBridge retries delivering an event. */
  readonly retryAttempts: number;
  /** @default EventBridge's 24 hours */
  readonly maxEventAgeHours?: number;
  /** Events the target could not take after the retries land in a dead-letter queue. @default false */
  readonly deadLetterQueue?: boolean;
}

/** Every event rule and schedule of the platform. */
export const RULES = {
  upload: {
    description: 'A dataset uploaded under datasets/ starts the training pipeline',
    source: { pattern: ({ datasetsBucket }) => uploadEventPattern(datasetsBucket) },
    target: 'pipeline',
    retryAttempts: 185,
    maxEventAgeHours: 24,
  },
  modelImport: {
    description: 'An ONNX file uploaded under models/<name>/ starts the pipeline (its import branch)',
    source: { pattern: ({ datasetsBucket }) => modelImportEventPattern(datasetsBucket) },
    target: 'pipeline',
    retryAttempts: 185,
    maxEventAgeHours: 24,
  },
  batchUpload: {
    description: 'A CSV uploaded under batch/<model>/ is predicted by the model in production',
    source: { pattern: ({ datasetsBucket }) => batchEventPattern(datasetsBucket) },
    target: 'batchPredict',
    retryAttempts: 2,
    maxEventAgeHours: 6,
    deadLetterQueue: true,
  },
  executionEnded: {
    description: 'Pipeline executions that failed, timed out or were stopped → the run is marked FAILED',
    source: { pattern: ({ stateMachineArn }) => executionEndedEventPattern(stateMachineArn) },
    target: 'executionEnded',
    retryAttempts: 4,
  },
  alarmStateChange: {
    description: 'State changes of the platform alarms → the alarm-state function',
    source: { pattern: ({ alarmPrefix }) => alarmEventPattern(alarmPrefix) },
    target: 'alarmState',
    retryAttempts: 4,
  },
  driftSchedule: {
    description: 'Runs the drift monitor over the predictions captured since its last run',
    source: { schedule: 'monitorInterval' },
    target: 'driftMonitor',
    retryAttempts: 0,
  },
} as const satisfies Record<string, RuleDeclaration>;

export type RuleName = keyof typeof RULES;

/** Every rule with its name. */
export function ruleList(): readonly (RuleDeclaration & { readonly name: RuleName })[] {
  return (Object.keys(RULES) as RuleName[]).map((name) => ({ name, ...(RULES[name] as RuleDeclaration) }));
}
