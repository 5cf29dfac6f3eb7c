/**
 * The validation report of a tabular dataset version (`versions/<name>/<version>.report.json`): its column
 * profiles and findings, what a person fixing the file reads. Errors stop the pipeline; warnings go on.
 */
import type { ColumnType, TaskType } from '../dataset.ts';
import { DatasetValidationError } from '../errors.ts';
import type { TableFormat } from '../table-reader.ts';
import type { Finding } from './finding.ts';

export interface ColumnProfile {
  readonly name: string;
  readonly role: 'feature' | 'label' | 'ignored' | 'dropped';
  readonly type: ColumnType;
  readonly missingRatio: number;
  /** Distinct present values. */
  readonly cardinality: number;
}

/** `versions/<name>/<version>.report.json`: what a user reads to fix a dataset. */
export interface ValidationReport {
  readonly valid: boolean;
  readonly format: TableFormat;
  readonly delimiter?: string;
  readonly rowCount: number;
  readonly columns: readonly ColumnProfile[];
  readonly label?: {
    readonly name: string;
    readonly task: TaskType;
    readonly counts?: Record<string, number>;
  };
  readonly duplicateRows: number;
  readonly errors: number;
  readonly warnings: number;
  readonly findings: readonly Finding[];
}

/** The error a failed validation raises: the errors in one line, each as a finding. */
export function validationError(report: ValidationReport, where?: string): DatasetValidationError {
  const errors = report.findings.filter((f) => f.severity === 'error').map((f) => f.message);
  const suffix = where ? ` (report: ${where})` : '';
  return new DatasetValidationError(`${errors.join('; ')}${suffix}`, errors);
}
