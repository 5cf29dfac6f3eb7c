import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { acknowledgeManagedPolicy } from './nag.ts';
import { NimbusPlatform, type NimbusPlatformProps } from './platform.ts';

export interface NimbusStackProps extends StackProps {
  /** @default NimbusPlatform defaults */
  readonly platform?: NimbusPlatformProps;
}

/** A stack holding one NimbusPlatform. */
export class NimbusStack extends Stack {
  readonly platform: NimbusPlatform;

  constructor(scope: Construct, id: string, props: NimbusStackProps = {}) {
    super(scope, id, { description: 'Nimbus ML: serverless ML platform', ...props });
    this.platform = new NimbusPlatform(this, 'Platform', props.platform ?? {});
    // The singleton Lambda that CDK adds to configure the datasets bucket's EventBridge notifications.
    acknowledgeManagedPolicy(
      this,
      'service-role/AWSLambdaBasicExecutionRole',
      "CDK's bucket-notifications custom resource handler writes to its own log group with the managed policy.",
    );
  }
}
