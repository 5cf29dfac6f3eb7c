import { error, type Finding, MAX_REPORTED, Sightings } from '../finding.ts';

/** Rows whose number of fields is not the header's, as they are read. */
export class RaggedRows {
  readonly sightings = new Sightings();
  /** The fields of each row in `sightings.lines`. */
  readonly fields: number[] = [];

  constructor(readonly width: number) {}

  /** One data row of `fields` fields on `line`; whether it is ragged. */
  add(line: number, fields: number): boolean {
    if (fields === this.width) return false;
    this.sightings.add(line);
    if (this.fields.length < MAX_REPORTED) this.fields.push(fields);
    return true;
  }
}

/** `ragged-rows`: rows with more or fewer fields than the header. */
export function raggedRows({ sightings, fields, width }: RaggedRows): readonly Finding[] {
  if (sightings.count === 0) return [];
  return [
    error(
      'ragged-rows',
      `${sightings.count} row(s) have the wrong number of fields: ${sightings.lines
        .map((line, i) => `row ${line} has ${fields[i]} fields, the header has ${width}`)
        .join('; ')}`,
      { rows: sightings.lines },
    ),
  ];
}
