/**
 * Tabular dataset validation: the table read (CSV with its delimiter detected, or JSON Lines), its header and
 * rows checked, its columns profiled — each finding with a severity, a code, and where it is (rows, column,
 * examples). The report is saved next to the dataset version.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { type Baseline, BaselineAccumulator } from '../baseline.ts';
import {
  chooseLabel,
  type DatasetManifest,
  type DatasetSchema,
  type ParsedTable,
  type TaskType,
} from '../dataset.ts';
import { DatasetValidationError } from '../errors.ts';
import { streamRecords, type TableFormat } from '../table-reader.ts';
import { noHeaderRow } from './checks/no-header.ts';
import { noRows } from './checks/no-rows.ts';
import { RaggedRows, raggedRows } from './checks/ragged-rows.ts';
import { schemaTooLarge } from './checks/schema-too-large.ts';
import { MAX_COLUMNS } from './checks/too-many-columns.ts';
import { headerFindings } from './checks.ts';
import { error, type Finding, hasError } from './finding.ts';
import { type ProfileResult, profileTable, TableProfiler } from './profiler.ts';
import type { ValidationReport } from './report.ts';

/** What one pass over a tabular dataset version gives: its report, its content hash, and (valid) its schema and baseline. */
export interface StreamValidation {
  readonly report: ValidationReport;
  /** SHA-256 of the bytes, hex, and their number. */
  readonly hash: string;
  readonly bytes: number;
  readonly schema?: DatasetSchema;
  readonly baseline?: Baseline;
}

/**
 * The whole check of a tabular dataset version in one streaming pass, in memory bounded by the table's width:
 * the content hash, the report, and — when there is no error — the schema and the baseline statistics of every
 * row. Never throws for the data's sake; read `report.valid`.
 */
export async function validateStream(
  source: AsyncIterable<Uint8Array>,
  format: TableFormat,
  manifest: DatasetManifest = {},
): Promise<StreamValidation> {
  const findings: Finding[] = [];
  const meta: { delimiter?: string } = {};
  const hash = createHash('sha256');
  let bytes = 0;
  // Every byte is hashed, even after the records stop at a broken line: the hash names the version.
  const input = new PassThrough();
  let header: string[] | undefined;
  let profiler: TableProfiler | undefined;
  let ragged: RaggedRows | undefined;
  let rows = 0;
  // The baseline needs column types, known only at the end: cells are summarized as both number and text.
  let cells: BaselineAccumulator | undefined;
  const reading = (async () => {
    for await (const record of streamRecords(input, format, findings, meta)) {
      if (!header) {
        header = record.map((name) => name.trim());
        findings.push(...headerFindings(header));
        ragged = new RaggedRows(header.length);
        // A table too wide to profile is not profiled: its rows are only counted (and hashed).
        if (header.length > MAX_COLUMNS) continue;
        try {
          const label = chooseLabel(header, manifest);
          const { task, types, ignore } = manifest;
          profiler = new TableProfiler(header, { label, task, types, ignore });
          cells = new BaselineAccumulator({
            kind: 'tabular',
            task: 'classification',
            label,
            features: header
              .filter((name) => name !== label)
              .map((name) => ({ name, type: 'numeric' as const })),
            classes: [],
            rowCount: 0,
          });
        } catch (caught) {
          findings.push(error('label-not-found', (caught as Error).message));
        }
        continue;
      }
      rows++;
      const line = rows + 1;
      if (ragged?.add(line, record.length)) continue;
      profiler?.add(record, line);
      if (cells) {
        const named: Record<string, string> = {};
        for (const [i, name] of header.entries()) named[name] = record[i] as string;
        cells.add(named);
      }
    }
  })();
  let done = false;
  const finished = reading.finally(() => {
    done = true;
  });
  for await (const chunk of source) {
    hash.update(chunk);
    bytes += chunk.byteLength;
    if (done || input.destroyed) continue;
    if (!input.write(chunk)) await Promise.race([once(input, 'drain'), finished]);
  }
  input.end();
  await finished;
  const structural = findings.length;
  if (!header && !hasError(findings)) findings.push(noHeaderRow());
  if (header) findings.push(...noRows(rows));
  if (ragged) findings.push(...raggedRows(ragged));
  // A file that could not be read as a table gets no column findings: they would only repeat the cause.
  const readable = header !== undefined && findings.length === structural && !hasError(findings);
  const profile: ProfileResult | undefined = readable && profiler ? profiler.finish(findings) : undefined;
  const errors = findings.filter((f) => f.severity === 'error').length;
  let report: ValidationReport = {
    valid: errors === 0,
    format,
    ...(meta.delimiter ? { delimiter: meta.delimiter } : {}),
    rowCount: rows,
    columns: profile?.columns ?? [],
    ...(profile?.label ? { label: profile.label } : {}),
    duplicateRows: profile?.duplicateRows ?? 0,
    errors,
    warnings: findings.length - errors,
    findings,
  };
  let schema = errors === 0 ? profile?.schema : undefined;
  const tooLarge = schema ? schemaTooLarge(schema) : [];
  if (tooLarge.length > 0) {
    findings.push(...tooLarge);
    report = { ...report, valid: false, errors: report.errors + 1 };
    schema = undefined;
  }
  return {
    report,
    hash: hash.digest('hex'),
    bytes,
    ...(schema && cells ? { schema, baseline: cells.finishAs(schema) } : {}),
  };
}

/** The rows of a table (for the in-memory steps), or a DatasetValidationError with the reading problems. */
export async function readTable(
  source: AsyncIterable<Uint8Array>,
  format: TableFormat = 'csv',
): Promise<ParsedTable> {
  const findings: Finding[] = [];
  const records: string[][] = [];
  for await (const record of streamRecords(source, format, findings)) records.push(record);
  const [header, ...rows] = records;
  if (header) {
    findings.push(...headerFindings(header.map((name) => name.trim())));
    findings.push(...noRows(rows.length));
    const ragged = new RaggedRows(header.length);
    for (const [i, row] of rows.entries()) ragged.add(i + 2, row.length);
    findings.push(...raggedRows(ragged));
  }
  const errors = findings.filter((f) => f.severity === 'error').map((f) => f.message);
  if (!header || errors.length > 0)
    throw new DatasetValidationError(errors.join('; ') || noHeaderRow().message, errors);
  return { header: header.map((name) => name.trim()), rows };
}

/** The schema of a parsed table, or a DatasetValidationError with every error finding. */
export function inferSchema(table: ParsedTable, label: string, task?: TaskType): DatasetSchema {
  const findings: Finding[] = [];
  const { schema } = profileTable(table, { label, task }, findings);
  const errors = findings.filter((f) => f.severity === 'error').map((f) => f.message);
  if (!schema || errors.length > 0) throw new DatasetValidationError(errors.join('; '), errors);
  return schema;
}
