/** Reads the names a process needs from its environment, once, failing at start-up with a clear message. */
import { BUCKET_ENV, type BucketRole, TABLE_ENV, type TableRole } from '../core/contract.ts';
import { ConfigurationError } from '../core/errors.ts';

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new ConfigurationError(`environment variable ${name} is not set`);
  }
  return value;
}

export function bucketName(role: BucketRole): string {
  return requireEnv(BUCKET_ENV[role]);
}

export function tableName(role: TableRole): string {
  return requireEnv(TABLE_ENV[role]);
}
