/**
 * The training pipeline's executions, for `nimbus runs stop`: Step Functions' StopExecution on the run's
 * execution (its name is the run id), locally against the local Step Functions endpoint, on a stack with the
 * default AWS credential chain (it needs `states:StopExecution` on the pipeline's executions).
 */
import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { CliError, EXIT } from './output.ts';
import type { Target } from './target.ts';

/** Stops the run's execution, with the reason as its cause; a run with no running execution is exit 3. */
export async function stopExecution(target: Target, runId: string, cause: string): Promise<void> {
  if (!target.stateMachineArn) {
    throw new CliError(
      `${target.source} names no training pipeline`,
      EXIT.notFound,
      'deploy the stack again (it outputs PipelineStateMachineArn), or restart the local platform',
    );
  }
  const local = target.local;
  const client = new SFNClient({
    region: target.region,
    ...(local
      ? {
          endpoint: local.stepFunctions,
          credentials: { accessKeyId: local.accessKeyId, secretAccessKey: local.secretAccessKey },
          maxAttempts: 1,
        }
      : {}),
  });
  const executionArn = `${target.stateMachineArn.replace(':stateMachine:', ':execution:')}:${runId}`;
  try {
    await client.send(
      new StopExecutionCommand({ executionArn, error: 'nimbus.RunStopped', cause: cause.slice(0, 32_768) }),
    );
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'ExecutionDoesNotExist') {
      throw new CliError(
        `run ${runId} has no running execution`,
        EXIT.notFound,
        'nimbus runs list shows the runs',
      );
    }
    if (name === 'AccessDeniedException') {
      throw new CliError(
        `not allowed to stop run ${runId}: ${(error as Error).message}`,
        EXIT.forbidden,
        'stopping a run needs states:StopExecution on the pipeline',
      );
    }
    throw error;
  } finally {
    client.destroy();
  }
}
