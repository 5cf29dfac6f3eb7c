import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BATCH_FUNCTION_DIR, batchEventPattern, KEYS } from '../core/contract.ts';
import { NimbusFunction } from './function.ts';

export interface BatchPredictionProps {
  readonly datasets: s3.IBucket;
  readonly artifacts: s3.IBucket;
  readonly models: dynamodb.ITable;
}

/**
 * Batch prediction: a CSV uploaded under `batch/<model>/` in the datasets bucket → EventBridge rule → the
 * batch-predict Lambda (15 minutes, streaming in and out) → `batch/<model>/<name>.predictions.csv` in the
 * artifacts bucket. Events the function could not take after retries land in an encrypted dead-letter queue.
 */
export class BatchPrediction extends Construct {
  readonly function: NimbusFunction;
  readonly rule: events.Rule;
  readonly deadLetters: sqs.Queue;

  constructor(scope: Construct, id: string, props: BatchPredictionProps) {
    super(scope, id);
    this.function = new NimbusFunction(this, 'Function', {
      dir: BATCH_FUNCTION_DIR,
      memorySize: 2048,
      timeout: Duration.minutes(15),
    })
      .bindBucket('datasets', props.datasets, 'read')
      .bindBucket('artifacts', props.artifacts, 'readWrite', `${KEYS.batchPrefix}*`)
      .bindTable('models', props.models, 'read');
    this.deadLetters = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the batch prediction rule; it needs none of its own.',
    });
    const pattern = batchEventPattern(props.datasets.bucketName);
    this.rule = new events.Rule(this, 'Rule', {
      description: 'A CSV uploaded under batch/<model>/ is predicted by the model in production',
      eventPattern: { source: pattern.source, detailType: pattern['detail-type'], detail: pattern.detail },
      targets: [
        new targets.LambdaFunction(this.function.function, {
          retryAttempts: 2,
          maxEventAge: Duration.hours(6),
          deadLetterQueue: this.deadLetters,
        }),
      ],
    });
  }
}
