/**
 * What the profiler (core/validation/profiler.ts) knows of a table once its rows have streamed by: the facts
 * every check (core/validation/checks/) reads. Pure data; the checks are pure functions of it.
 */
import type { ColumnSchema, ColumnType, TaskType } from '../dataset.ts';
import type { Finding, Sightings } from './finding.ts';
import type { ColumnProfile } from './report.ts';

/** The manifest's say over columns: forced types and columns to leave out. */
export interface ColumnOptions {
  readonly label: string;
  readonly task?: TaskType;
  readonly types?: Readonly<Record<string, ColumnType>>;
  readonly ignore?: readonly string[];
}

/** Distinct values kept per column (and label): beyond, a column's cardinality reads as this many. */
export const MAX_DISTINCT = 10_000;
/** Characters of distinct values profiling keeps over all columns (RegisterDataset has 1 GB). */
export const MAX_DISTINCT_CHARS = 64 * 1024 * 1024;
/** Rows checked for duplicates: the first million (a 53-bit hash each). */
export const MAX_DUPLICATE_ROWS = 1_000_000;

/** One column other than the label: its type, the role it takes, and what its cells were. */
export interface ColumnFacts {
  readonly name: string;
  readonly role: ColumnProfile['role'];
  readonly type: ColumnType;
  /** The manifest forces the type. */
  readonly forced: boolean;
  /** Cells present (not missing). */
  readonly present: number;
  /** Share of the present cells that are numbers. */
  readonly numericShare: number;
  readonly cardinality: number;
  readonly missingRatio: number;
  /** The first present value. */
  readonly first: string | undefined;
  /** Every row's cell equals its label. */
  readonly sameAsLabel: boolean;
  /** Present cells that are not numbers. */
  readonly strays: Sightings;
}

/** The label column's values. */
export interface LabelFacts {
  readonly name: string;
  readonly task: TaskType;
  /** Rows per class (the first MAX_DISTINCT classes). */
  readonly counts: Record<string, number>;
  /** The classes, in the order first seen. */
  readonly values: readonly string[];
  /** There is a value and every value is a number. */
  readonly numeric: boolean;
  /** More than MAX_DISTINCT distinct values. */
  readonly overflow: boolean;
  readonly missing: Sightings;
}

export interface TableProfile {
  readonly header: readonly string[];
  readonly options: ColumnOptions;
  readonly rows: number;
  /** Every column, the label's among them, in header order. */
  readonly columnProfiles: readonly ColumnProfile[];
  /** The columns other than the label, in header order. */
  readonly columns: readonly ColumnFacts[];
  /** The columns a model learns from. */
  readonly features: readonly ColumnSchema[];
  /** Absent: the label column is not in the header. */
  readonly label?: LabelFacts;
  /** Cells longer than MAX_CELL_CHARS, with their column names as examples. */
  readonly longCells: Sightings;
  readonly formulas: Sightings;
  /** The column of each line in `formulas.lines`. */
  readonly formulaColumns: readonly string[];
  readonly duplicates: Sightings;
}

/** The label of a profile whose label was found (checks of the label run only then). */
export type LabelledProfile = TableProfile & { readonly label: LabelFacts };

/**
 * A check of a table: the findings of one kind, from its profile. `before` are the findings the checks
 * ahead of it in the list gave.
 */
export type Check = (profile: LabelledProfile, before: readonly Finding[]) => readonly Finding[];

/** A check of one column (not the label). */
export type ColumnCheck = (column: ColumnFacts, profile: LabelledProfile) => readonly Finding[];
