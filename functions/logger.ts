/** One structured logger per function (Powertools: JSON lines, level from POWERTOOLS_LOG_LEVEL). */
import { Logger } from '@aws-lambda-powertools/logger';

export function createLogger(functionName: string): Logger {
  return new Logger({ serviceName: 'nimbus-ml', persistentKeys: { function: functionName } });
}
