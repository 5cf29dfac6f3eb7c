/**
 * The local stand-in for EventBridge: s3rver's notification records become EventBridge "Object Created"
 * events, and the local pipeline's ended executions Step Functions' "Execution Status Change" events, matched
 * against the same rule patterns the CDK app deploys (core/declaration.ts RULES), on a local bus.
 */
import { randomUUID } from 'node:crypto';
import type { EventPattern } from '../core/declaration.ts';
import { type ExecutionStatusChangeEvent, executionArn, type ObjectCreatedEvent } from '../core/events.ts';
import type { S3NotificationRecord } from './emulators.ts';
import type { ExecutionOutcome } from './pipeline.ts';

/** S3 notification → the EventBridge event S3 sends for the same upload; undefined for non-create events. */
export function toEventBridgeEvent(
  record: S3NotificationRecord,
  account: string,
  region: string,
): ObjectCreatedEvent | undefined {
  if (!record.eventName.startsWith('ObjectCreated:')) return undefined;
  const bucket = record.s3.bucket.name;
  const action = record.eventName.slice('ObjectCreated:'.length);
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account,
    time: record.eventTime.replace(/\.\d+Z$/, 'Z'),
    region,
    resources: [`arn:aws:s3:::${bucket}`],
    detail: {
      version: '0',
      bucket: { name: bucket },
      object: {
        key: decodeURIComponent(record.s3.object.key.replace(/\+/g, ' ')),
        ...(record.s3.object.size === undefined ? {} : { size: record.s3.object.size }),
        ...(record.s3.object.eTag === undefined ? {} : { etag: record.s3.object.eTag }),
        ...(record.s3.object.sequencer === undefined ? {} : { sequencer: record.s3.object.sequencer }),
      },
      'request-id': record.responseElements?.['x-amz-request-id'] ?? randomUUID(),
      requester: account,
      reason: action === 'Post' ? 'CompleteMultipartUpload' : `${action}Object`,
    },
  };
}

/** An execution's end → the event Step Functions sends to EventBridge for it. */
export function toExecutionStatusChangeEvent(
  outcome: ExecutionOutcome,
  stateMachineArn: string,
  account: string,
  region: string,
): ExecutionStatusChangeEvent {
  const arn = executionArn(stateMachineArn, outcome.runId);
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account,
    time: new Date(outcome.stopDate).toISOString().replace(/\.\d+Z$/, 'Z'),
    region,
    resources: [arn],
    detail: {
      executionArn: arn,
      stateMachineArn,
      name: outcome.runId,
      status: outcome.status,
      startDate: outcome.startDate,
      stopDate: outcome.stopDate,
      input: JSON.stringify(outcome.input),
      error: outcome.error ?? null,
      cause: outcome.cause ?? null,
    },
  };
}

type PatternValue = EventPattern[string] extends readonly (infer V)[] | EventPattern ? V : never;

/** A rule of the bus: its pattern, and what delivers a matching event to its target. */
export interface LocalRule {
  readonly name: string;
  readonly pattern: EventPattern;
  readonly deliver: (event: unknown) => Promise<unknown>;
}

/**
 * The local event bus: each event published goes to every rule whose pattern matches it, as EventBridge's
 * default bus sends it. Resolves when every target has taken it; rejects if one failed (the publisher decides
 * what a failure means: an alarm change is tried again, an upload's failure is logged).
 */
export class LocalEventBus {
  constructor(private readonly rules: readonly LocalRule[]) {}

  async publish(event: unknown): Promise<void> {
    const matched = this.rules.filter((rule) => matchesPattern(rule.pattern, event));
    const results = await Promise.allSettled(matched.map((rule) => rule.deliver(event)));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }
}

/**
 * EventBridge pattern matching for the forms the platform's rules use: arrays of exact values,
 * `{ "prefix": … }` and `{ "wildcard": … }` (`*` matches any run of characters, `/` included), nested to any
 * depth. Any other operator is refused loudly rather than mismatched.
 */
export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const record = event as Record<string, unknown>;
  return Object.entries(pattern).every(([field, expected]) => {
    const actual = record[field];
    if (!Array.isArray(expected)) return matchesPattern(expected as EventPattern, actual);
    const values = Array.isArray(actual) ? actual : [actual];
    return values.some((value) =>
      (expected as readonly PatternValue[]).some((rule) => matchesValue(rule, value)),
    );
  });
}

function matchesValue(rule: PatternValue, value: unknown): boolean {
  if (rule !== null && typeof rule === 'object') {
    if (typeof value !== 'string') return false;
    const operators = Object.keys(rule);
    if (operators.length === 1 && 'prefix' in rule) return value.startsWith(rule.prefix);
    if (operators.length === 1 && 'wildcard' in rule) return wildcard(rule.wildcard).test(value);
    throw new Error(`event pattern operator ${JSON.stringify(rule)} is not supported locally`);
  }
  return value === rule;
}

const wildcards = new Map<string, RegExp>();

function wildcard(pattern: string): RegExp {
  let regex = wildcards.get(pattern);
  if (!regex) {
    const body = pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    regex = new RegExp(`^${body}$`, 's');
    wildcards.set(pattern, regex);
  }
  return regex;
}
