/**
 * The checks of a tabular dataset, one per file in checks/ and named after the finding it gives, listed in the
 * order their findings appear in a report (users and tests read them in this order).
 */
import { allMissing } from './checks/all-missing.ts';
import { blankColumnName } from './checks/blank-column-name.ts';
import { cellTooLong } from './checks/cell-too-long.ts';
import { columnNameTooLong } from './checks/column-name-too-long.ts';
import { constantColumn } from './checks/constant-column.ts';
import { duplicateColumn } from './checks/duplicate-column.ts';
import { duplicateRows } from './checks/duplicate-rows.ts';
import { formulaCells } from './checks/formula-cells.ts';
import { labelIgnored } from './checks/label-ignored.ts';
import { labelImbalance } from './checks/label-imbalance.ts';
import { labelLeakage } from './checks/label-leakage.ts';
import { labelMissing } from './checks/label-missing.ts';
import { labelNotFound } from './checks/label-not-found.ts';
import { noFeatures } from './checks/no-features.ts';
import { noHeader } from './checks/no-header.ts';
import { nonNumericLabel } from './checks/non-numeric-label.ts';
import { nonNumericValues } from './checks/non-numeric-values.ts';
import { oneClass } from './checks/one-class.ts';
import { rareClass } from './checks/rare-class.ts';
import { reservedColumnName } from './checks/reserved-column-name.ts';
import { tooFewColumns } from './checks/too-few-columns.ts';
import { tooFewRows } from './checks/too-few-rows.ts';
import { tooManyClasses } from './checks/too-many-classes.ts';
import { tooManyColumns } from './checks/too-many-columns.ts';
import { unknownColumn } from './checks/unknown-column.ts';
import type { Finding } from './finding.ts';
import type { Check, ColumnCheck, TableProfile } from './profile.ts';

/** The checks of a header's names, when it is not too wide to read. */
export const HEADER_CHECKS: readonly ((names: readonly string[]) => readonly Finding[])[] = [
  columnNameTooLong,
  reservedColumnName,
  blankColumnName,
  duplicateColumn,
  tooFewColumns,
  noHeader,
];

/** A header's findings: too many columns, or else what HEADER_CHECKS find. */
export function headerFindings(names: readonly string[]): readonly Finding[] {
  const tooMany = tooManyColumns(names);
  return tooMany.length > 0 ? tooMany : HEADER_CHECKS.flatMap((check) => check(names));
}

/** The checks of each column but the label, column by column. */
export const COLUMN_CHECKS: readonly ColumnCheck[] = [
  allMissing,
  nonNumericValues,
  constantColumn,
  labelLeakage,
];

/** COLUMN_CHECKS over every column but the label, in header order. */
const eachColumn: Check = (profile) =>
  profile.columns.flatMap((column) => COLUMN_CHECKS.flatMap((check) => check(column, profile)));

/** The checks of a table whose label column is not in the header: nothing else about it can be checked. */
export const UNLABELLED_CHECKS: readonly ((profile: TableProfile) => readonly Finding[])[] = [
  cellTooLong,
  labelNotFound,
];

/** The checks of a table with its label. */
export const CHECKS: readonly Check[] = [
  cellTooLong,
  unknownColumn,
  labelIgnored,
  formulaCells,
  eachColumn,
  labelMissing,
  tooFewRows,
  nonNumericLabel,
  tooManyClasses,
  oneClass,
  rareClass,
  labelImbalance,
  noFeatures,
  duplicateRows,
];

/** The findings of `checks` in order, each check seeing those before it. */
export function runChecks<P>(
  checks: readonly ((profile: P, before: readonly Finding[]) => readonly Finding[])[],
  profile: P,
): Finding[] {
  const found: Finding[] = [];
  for (const check of checks) found.push(...check(profile, found));
  return found;
}
