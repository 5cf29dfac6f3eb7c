import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventPattern } from '../../core/declaration.ts';
import { uploadEventPattern } from '../../core/events.ts';
import type { S3NotificationRecord } from '../../local/emulators.ts';
import { matchesPattern, toEventBridgeEvent } from '../../local/event-bridge.ts';

const record = (eventName: string, key: string, bucket = 'nimbus-datasets'): S3NotificationRecord => ({
  eventName,
  eventTime: '2026-11-22T10:00:00.123Z',
  s3: { bucket: { name: bucket }, object: { key, size: 12, eTag: 'abc', sequencer: '01' } },
});
const rule: EventPattern = uploadEventPattern('nimbus-datasets');

describe('local S3 → EventBridge', () => {
  it("shapes an s3rver Put like S3's EventBridge 'Object Created' event", () => {
    const event = toEventBridgeEvent(
      record('ObjectCreated:Put', 'datasets/my+data/a%20b.csv'),
      '000000000000',
      'us-east-1',
    );
    assert.ok(event);
    assert.equal(event.source, 'aws.s3');
    assert.equal(event['detail-type'], 'Object Created');
    assert.equal(event.time, '2026-11-22T10:00:00Z');
    assert.deepEqual(event.resources, ['arn:aws:s3:::nimbus-datasets']);
    assert.equal(event.detail.object.key, 'datasets/my data/a b.csv');
    assert.equal(event.detail.reason, 'PutObject');
    assert.equal(
      toEventBridgeEvent(record('ObjectCreated:Post', 'datasets/x/y.csv'), 'a', 'r')?.detail.reason,
      'CompleteMultipartUpload',
    );
    assert.equal(toEventBridgeEvent(record('ObjectRemoved:Delete', 'datasets/x/y.csv'), 'a', 'r'), undefined);
  });

  it('matches the deployed rule: the datasets bucket, keys under datasets/ only', () => {
    const event = (key: string, bucket?: string) =>
      toEventBridgeEvent(record('ObjectCreated:Put', key, bucket), 'a', 'r');
    assert.equal(matchesPattern(rule, event('datasets/iris/iris.csv')), true);
    assert.equal(matchesPattern(rule, event('other/iris.csv')), false);
    assert.equal(matchesPattern(rule, event('datasets/iris/iris.csv', 'another-bucket')), false);
  });

  it('refuses pattern operators it does not implement instead of mismatching silently', () => {
    const pattern = { detail: { object: { key: [{ suffix: '.csv' }] } } } as unknown as EventPattern;
    assert.throws(
      () => matchesPattern(pattern, { detail: { object: { key: 'a.csv' } } }),
      /not supported locally/,
    );
  });
});
