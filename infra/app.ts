/**
 * The CDK app: `npx cdk deploy` deploys one NimbusStack. Context:
 *   -c trainingPlatform=batch|sagemaker   (default batch)
 *   -c alarmEmail=you@example.com         (optional)
 *   -c stackName=NimbusMl                 (default NimbusMl)
 * cdk-nag's AwsSolutions checks run on every synth.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { TrainingPlatform } from '../core/contract.ts';
import { NimbusStack } from './stack.ts';

const app = new App();
const platform = app.node.tryGetContext('trainingPlatform') as TrainingPlatform | undefined;
if (platform !== undefined && platform !== 'batch' && platform !== 'sagemaker') {
  throw new Error(`context trainingPlatform must be "batch" or "sagemaker", not "${platform}"`);
}
const alarmEmail = app.node.tryGetContext('alarmEmail') as string | undefined;
new NimbusStack(app, (app.node.tryGetContext('stackName') as string | undefined) ?? 'NimbusMl', {
  platform: { ...(platform ? { trainingPlatform: platform } : {}), ...(alarmEmail ? { alarmEmail } : {}) },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
