/**
 * Profiles a table one row at a time, in memory bounded by its width (not its length): what a 1 GB file can be
 * checked with as it streams by. At the end the profile goes through the checks (core/validation/checks.ts).
 */
import {
  type ColumnSchema,
  type ColumnType,
  type DatasetSchema,
  isMissing,
  type ParsedTable,
  REGRESSION_DISTINCT_LABELS,
  type TaskType,
} from '../dataset.ts';
import { MAX_CELL_CHARS } from './checks/cell-too-long.ts';
import { looksLikeFormula } from './checks/formula-cells.ts';
import { CHECKS, runChecks, UNLABELLED_CHECKS } from './checks.ts';
import { type Finding, hasError, MAX_REPORTED, Sightings } from './finding.ts';
import {
  type ColumnFacts,
  type ColumnOptions,
  type LabelFacts,
  MAX_DISTINCT,
  MAX_DISTINCT_CHARS,
  MAX_DUPLICATE_ROWS,
  type TableProfile,
} from './profile.ts';
import type { ColumnProfile, ValidationReport } from './report.ts';

/** A column at least this share numeric, but not all, has stray text: a warning, the text read as missing. */
const MOSTLY_NUMERIC = 0.9;

/** The profile of a table, with its schema when no check found an error. */
export interface ProfileResult {
  readonly schema?: DatasetSchema;
  readonly columns: readonly ColumnProfile[];
  readonly label?: ValidationReport['label'];
  readonly duplicateRows: number;
}

class ColumnStats {
  present = 0;
  numeric = 0;
  readonly distinct = new Set<string>();
  first: string | undefined;
  sameAsLabel = true;
  readonly strays = new Sightings();
}

/** 53-bit FNV-1a of a string: duplicate rows by hash, in bounded memory. */
function hash53(text: string): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x0100019d);
  }
  return (h1 >>> 0) * 0x200000 + ((h2 >>> 0) & 0x1fffff);
}

/**
 * `add` each data row, then `finish()`: the findings go to the caller's list, and the profile and (when there
 * is no error) the schema come back.
 */
export class TableProfiler {
  private readonly labelIndex: number;
  private readonly columns: ColumnStats[];
  private readonly labelCounts = new Map<string, number>();
  private labelOverflow = false;
  private labelNumeric = true;
  private readonly missingLabel = new Sightings();
  private readonly formulas = new Sightings();
  private readonly formulaColumns: string[] = [];
  private readonly seenRows = new Set<number>();
  private readonly duplicates = new Sightings();
  /** Cells longer than MAX_CELL_CHARS, with their column names as examples. */
  private readonly longCells = new Sightings();
  /** Characters of every column's distinct values kept so far. */
  private distinctChars = 0;
  /** Columns the manifest leaves out: their cells may be anything. */
  private readonly ignored: Set<number>;
  private rows = 0;

  constructor(
    private readonly header: readonly string[],
    private readonly options: ColumnOptions,
  ) {
    this.labelIndex = header.indexOf(options.label);
    this.columns = header.map(() => new ColumnStats());
    const ignore = new Set(options.ignore ?? []);
    this.ignored = new Set(header.flatMap((name, i) => (ignore.has(name) ? [i] : [])));
  }

  /** One data row; `line` is its 1-based line in the file (the header is line 1). */
  add(row: readonly string[], line: number): void {
    this.rows++;
    const label = row[this.labelIndex] ?? '';
    for (let c = 0; c < this.header.length; c++) {
      const cell = row[c] ?? '';
      const stats = this.columns[c] as ColumnStats;
      if (looksLikeFormula(cell)) {
        this.formulas.add(line, cell.slice(0, 40));
        if (this.formulaColumns.length < MAX_REPORTED) this.formulaColumns.push(this.header[c] as string);
      }
      if (stats.sameAsLabel && cell !== label) stats.sameAsLabel = false;
      if (isMissing(cell)) continue;
      stats.present++;
      // Text too long to be a value a model takes (free text): counted, never kept.
      if (cell.length > MAX_CELL_CHARS) {
        if (!this.ignored.has(c)) this.longCells.add(line, this.header[c] as string);
        continue;
      }
      stats.first ??= cell;
      if (Number.isFinite(Number(cell))) stats.numeric++;
      else stats.strays.add(line, cell.slice(0, 40));
      // Distinct values are counted up to MAX_DISTINCT a column and MAX_DISTINCT_CHARS over the table: a
      // wide table of long categories would otherwise hold gigabytes (its cardinality then reads "at least").
      if (
        stats.distinct.size < MAX_DISTINCT &&
        !stats.distinct.has(cell) &&
        this.distinctChars < MAX_DISTINCT_CHARS
      ) {
        stats.distinct.add(cell);
        this.distinctChars += cell.length;
      }
    }
    if (isMissing(label)) this.missingLabel.add(line);
    else if (label.length > MAX_CELL_CHARS) this.longCells.add(line, this.options.label);
    else {
      if (!Number.isFinite(Number(label))) this.labelNumeric = false;
      const known = this.labelCounts.get(label);
      if (known !== undefined) this.labelCounts.set(label, known + 1);
      else if (this.labelCounts.size < MAX_DISTINCT) this.labelCounts.set(label, 1);
      else this.labelOverflow = true;
    }
    if (this.rows <= MAX_DUPLICATE_ROWS) {
      const key = hash53(row.join('\u0001'));
      if (this.seenRows.has(key)) this.duplicates.add(line);
      else this.seenRows.add(key);
    }
  }

  /** What the rows added so far say: the facts the checks read. */
  profile(): TableProfile {
    const { header, options, rows } = this;
    const columnProfiles: ColumnProfile[] = [];
    const columns: ColumnFacts[] = [];
    const features: ColumnSchema[] = [];
    for (const [c, name] of header.entries()) {
      const stats = this.columns[c] as ColumnStats;
      const missingRatio = rows > 0 ? 1 - stats.present / rows : 0;
      const cardinality = stats.distinct.size;
      const numericShare = stats.present > 0 ? stats.numeric / stats.present : 0;
      const forced = options.types?.[name];
      const type: ColumnType =
        forced ?? (numericShare >= MOSTLY_NUMERIC && stats.present > 0 ? 'numeric' : 'categorical');
      const role: ColumnProfile['role'] =
        c === this.labelIndex
          ? 'label'
          : options.ignore?.includes(name)
            ? 'ignored'
            : stats.present === 0 || (cardinality === 1 && rows > 1)
              ? 'dropped'
              : 'feature';
      columnProfiles.push({ name, role, type, missingRatio, cardinality });
      if (role === 'label') continue;
      if (role === 'feature') features.push({ name, type });
      columns.push({
        name,
        role,
        type,
        forced: forced !== undefined,
        present: stats.present,
        numericShare,
        cardinality,
        missingRatio,
        first: stats.first,
        sameAsLabel: stats.sameAsLabel,
        strays: stats.strays,
      });
    }
    return {
      header,
      options,
      rows,
      columnProfiles,
      columns,
      features,
      label: this.labelIndex < 0 ? undefined : this.labelFacts(),
      longCells: this.longCells,
      formulas: this.formulas,
      formulaColumns: this.formulaColumns,
      duplicates: this.duplicates,
    };
  }

  private labelFacts(): LabelFacts {
    const values = [...this.labelCounts.keys()];
    const numeric = values.length > 0 && this.labelNumeric;
    const distinct = this.labelOverflow ? Number.POSITIVE_INFINITY : values.length;
    const task: TaskType =
      this.options.task ??
      (numeric && distinct > REGRESSION_DISTINCT_LABELS ? 'regression' : 'classification');
    return {
      name: this.options.label,
      task,
      counts: Object.fromEntries(this.labelCounts),
      values,
      numeric,
      overflow: this.labelOverflow,
      missing: this.missingLabel,
    };
  }

  finish(findings: Finding[]): ProfileResult {
    const profile = this.profile();
    const { label } = profile;
    if (!label) {
      findings.push(...UNLABELLED_CHECKS.flatMap((check) => check(profile)));
      return { columns: [], duplicateRows: 0 };
    }
    const found = runChecks(CHECKS, { ...profile, label });
    findings.push(...found);
    const { columnProfiles: columns, features } = profile;
    const { name, task, counts, values } = label;
    const summary = { name, task, ...(task === 'classification' ? { counts } : {}) };
    const duplicateRows = this.duplicates.count;
    if (hasError(found)) return { columns, label: summary, duplicateRows };
    const schema: DatasetSchema = {
      kind: 'tabular',
      task,
      label: name,
      features,
      classes: task === 'classification' ? [...values].sort() : [],
      rowCount: this.rows,
    };
    return { schema, columns, label: summary, duplicateRows };
  }
}

/**
 * Profiles every column and checks the rows can train a model of the task. Returns the schema when there is
 * no error (warnings allowed). Findings go to `findings`.
 */
export function profileTable(table: ParsedTable, options: ColumnOptions, findings: Finding[]): ProfileResult {
  const profiler = new TableProfiler(table.header, options);
  table.rows.forEach((row, i) => {
    profiler.add(row, i + 2);
  });
  return profiler.finish(findings);
}
