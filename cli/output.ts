/**
 * What `nimbus` prints and how it exits: JSON for scripts on stdout, tables for people, and errors as one line
 * plus a hint on stderr with an exit code a script can branch on.
 */

/** Exit codes of every `nimbus` command (also in `nimbus --help` and the README). */
export const EXIT = {
  ok: 0,
  /** The operation failed, or the run watched failed. */
  failed: 1,
  /** Bad usage: an unknown command or option, a missing argument (commander's errors). */
  usage: 2,
  /** The model, version, run, dataset or alias does not exist. */
  notFound: 3,
  /** The platform cannot be reached (not running, wrong endpoints, no network). */
  unreachable: 4,
  /** Refused: a wrong API key or admin key, no AWS credentials, or IAM denied it. */
  forbidden: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit codes as `nimbus --help` lists them. */
export const EXIT_HELP = `Exit codes:
  0  ok
  1  the operation failed (or the run watched failed)
  2  usage error (unknown command or option, missing argument)
  3  not found (model, version, alias, run or dataset)
  4  cannot reach the platform (not running, wrong endpoints file or stack)
  5  forbidden (wrong API or admin key, no AWS credentials, IAM denied)`;

/** A failure the user can act on: printed as `error: <message>` and `hint: <hint>`, never a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failed,
    readonly hint?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** Writes a value as JSON on stdout (the only thing `--json` writes there). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLines(lines: readonly string[]): void {
  if (lines.length > 0) process.stdout.write(`${lines.map(printable).join('\n')}\n`);
}

/**
 * A command's answer: with `--json`, `value` as JSON on stdout; otherwise the lines `human` makes of it (a table,
 * a sentence; none prints nothing). The one place a command's output forks on `--json`.
 */
export function render<T>(json: boolean, value: T, human: (value: T) => readonly string[]): void {
  if (json) printJson(value);
  else printLines(human(value));
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Text for a terminal: control characters (an escape sequence in a class name, a carriage return in a reason:
 * whatever an upload or a caller put there) written as `\u001b`, so they cannot clear or rewrite the screen.
 */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Progress and notes for a person: stderr, so that stdout stays parseable. */
export function note(line: string): void {
  process.stderr.write(`${printable(line)}\n`);
}

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string | number | undefined;
  /** Right-aligned (numbers). */
  readonly right?: boolean;
}

/** A plain text table: a header row, then one row per item, columns padded to their widest cell. */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string[] {
  const cells = rows.map((row) => columns.map((c) => text(c.value(row))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => (columns[i]?.right ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)];
}

function text(value: string | number | undefined): string {
  if (value === undefined || value === '') return '-';
  return String(value);
}

/** A metric for a table: 4 significant decimals, or `-`. */
export function metric(value: number | undefined): string | undefined {
  return value === undefined ? undefined : value.toFixed(4);
}

/** An ISO time as `YYYY-MM-DD HH:MM:SS` (UTC). */
export function time(iso: string | undefined): string | undefined {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}` : undefined;
}

/** Seconds between two ISO times, e.g. `12.3s` or `4m05s`. */
export function duration(from: string | undefined, to: string | undefined): string | undefined {
  if (!from || !to) return undefined;
  const seconds = (Date.parse(to) - Date.parse(from)) / 1000;
  if (!Number.isFinite(seconds) || seconds < 0) return undefined;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
}
