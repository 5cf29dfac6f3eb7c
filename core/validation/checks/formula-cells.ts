import { error, type Finding } from '../finding.ts';
import type { LabelledProfile } from '../profile.ts';

/** Text cells that spreadsheets would run as formulas (CSV injection); numbers like -5 are not. */
export function looksLikeFormula(cell: string): boolean {
  return /^[=+\-@\t\r]/.test(cell) && !Number.isFinite(Number(cell));
}

/** `formula-cells`: cells that look like spreadsheet formulas, in any column. */
export function formulaCells({ formulas, formulaColumns }: LabelledProfile): readonly Finding[] {
  if (formulas.count === 0) return [];
  return [
    error(
      'formula-cells',
      `${formulas.count} cell(s) look like spreadsheet formulas (start with =, +, - or @): ${formulas.lines
        .map((line, i) => `row ${line} column "${formulaColumns[i]}"`)
        .join(', ')}`,
      { rows: formulas.lines, examples: formulas.examples.slice(0, 3) },
    ),
  ];
}
