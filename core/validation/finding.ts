/**
 * A finding of a dataset's validation, and where a problem was seen: the vocabulary of the table reader
 * (core/table-reader.ts), the checks (core/validation/checks/) and the report.
 */
export type Severity = 'error' | 'warning';

export interface Finding {
  readonly severity: Severity;
  /** Stable identifier of the kind of problem, e.g. `ragged-rows`, `label-leakage`. */
  readonly code: string;
  readonly message: string;
  readonly column?: string;
  /** 1-based line numbers (the header is line 1), at most MAX_REPORTED of them. */
  readonly rows?: readonly number[];
  readonly examples?: readonly string[];
}

/** Lines a finding names at most. */
export const MAX_REPORTED = 10;

/** An error finding. */
export function error(code: string, message: string, where: Partial<Finding> = {}): Finding {
  return { severity: 'error', code, message, ...where };
}

/** A warning finding. */
export function warning(code: string, message: string, where: Partial<Finding> = {}): Finding {
  return { severity: 'warning', code, message, ...where };
}

/** Whether any of the findings is an error. */
export function hasError(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}

/** Where a problem was seen: how often, the first lines, a few examples. */
export class Sightings {
  count = 0;
  readonly lines: number[] = [];
  readonly examples: string[] = [];
  add(line: number, example?: string): void {
    this.count++;
    if (this.lines.length < MAX_REPORTED) this.lines.push(line);
    if (example !== undefined && this.examples.length < 5 && !this.examples.includes(example))
      this.examples.push(example);
  }
}
