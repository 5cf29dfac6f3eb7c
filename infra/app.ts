/**
 * The CDK app: `npx cdk deploy` deploys one NimbusStack. Context:
 *   -c trainingPlatform=batch|sagemaker   (default batch)
 *   -c alarmEmail=you@example.com         (optional)
 *   -c stackName=NimbusMl                 (default NimbusMl)
 *   -c monitoredModels=iris,wine          (models with alarms and dashboard rows of their own; optional)
 *   -c monitorIntervalMinutes=15          (the drift monitor's schedule; default 15)
 *   -c retrainOnDrift=true                (a drift alarm starts a training run; default false)
 *   -c trainingBudgetMinutes=60           (minutes one training job may train; default 60)
 *   -c trainingBudgetParameters=10000000  (the largest model it may build; default 10,000,000)
 *   -c trainingBudgetRunMinutes=240       (minutes all of a run's jobs share, a search's trials; default 240)
 * cdk-nag's AwsSolutions checks run on every synth.
 */
import { App, Duration, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { TrainingPlatform } from '../core/contract.ts';
import { NimbusStack } from './stack.ts';

const app = new App();
const platform = app.node.tryGetContext('trainingPlatform') as TrainingPlatform | undefined;
if (platform !== undefined && platform !== 'batch' && platform !== 'sagemaker') {
  throw new Error(`context trainingPlatform must be "batch" or "sagemaker", not "${platform}"`);
}
const alarmEmail = app.node.tryGetContext('alarmEmail') as string | undefined;
const monitored = app.node.tryGetContext('monitoredModels') as string | undefined;
const intervalMinutes = app.node.tryGetContext('monitorIntervalMinutes') as string | number | undefined;
if (
  intervalMinutes !== undefined &&
  !(Number.isInteger(Number(intervalMinutes)) && Number(intervalMinutes) >= 1)
) {
  throw new Error(
    `context monitorIntervalMinutes must be a whole number of minutes, not "${intervalMinutes}"`,
  );
}
const retrainOnDrift = String(app.node.tryGetContext('retrainOnDrift') ?? 'false') === 'true';
// Checked by the construct (NimbusPlatform `trainingBudget`), which names the field and its bounds.
const budgetContext = (name: string) => {
  const value = app.node.tryGetContext(name) as string | number | undefined;
  return value === undefined ? undefined : Number(value);
};
const budgetMinutes = budgetContext('trainingBudgetMinutes');
const budgetParameters = budgetContext('trainingBudgetParameters');
const budgetRunMinutes = budgetContext('trainingBudgetRunMinutes');
new NimbusStack(app, (app.node.tryGetContext('stackName') as string | undefined) ?? 'NimbusMl', {
  platform: {
    ...(platform ? { trainingPlatform: platform } : {}),
    ...(alarmEmail ? { alarmEmail } : {}),
    ...(monitored
      ? {
          monitoredModels: monitored
            .split(',')
            .map((m) => m.trim())
            .filter(Boolean),
        }
      : {}),
    ...(intervalMinutes === undefined ? {} : { monitorInterval: Duration.minutes(Number(intervalMinutes)) }),
    ...(retrainOnDrift ? { alarmActions: { retrainOnDrift } } : {}),
    ...(budgetMinutes === undefined && budgetParameters === undefined && budgetRunMinutes === undefined
      ? {}
      : {
          trainingBudget: {
            ...(budgetMinutes === undefined ? {} : { minutes: budgetMinutes }),
            ...(budgetParameters === undefined ? {} : { parameters: budgetParameters }),
            ...(budgetRunMinutes === undefined ? {} : { runMinutes: budgetRunMinutes }),
          },
        }),
  },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
