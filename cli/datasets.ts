/**
 * Datasets as `nimbus datasets` reaches them: uploads go to the datasets bucket with the AWS SDK (which starts
 * a pipeline run, as `aws s3 cp` would), versions are read from the datasets table, validation reports from
 * the bucket. Works on the local emulators (static credentials) and on a stack (the default credential chain).
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { DatasetVersionRecord } from '../aws/registry.ts';
import { type DatasetTrigger, datasetTrigger, KEYS, NAME_PATTERN } from '../core/contract.ts';
import type { ValidationReport } from '../core/validation.ts';
import { CliError, EXIT } from './output.ts';
import { awsError, type Target } from './target.ts';

/** One dataset of `nimbus datasets list`. */
export interface DatasetSummary {
  readonly name: string;
  readonly versions: number;
  readonly latestVersion: string;
  readonly status: string;
  readonly rows?: number;
  readonly updatedAt: string;
}

export interface Upload {
  readonly bucket: string;
  readonly key: string;
  readonly bytes: number;
  /** What the upload starts: a run (csv, jsonl, zip), a run over the folder (`_SUCCESS`), or nothing. */
  readonly trigger?: DatasetTrigger;
  /** The dataset version the content will be (csv, jsonl, zip: the first 16 hex digits of its SHA-256). */
  readonly version?: string;
  /** The version already registered with this content: the upload starts no new run. */
  readonly existing?: DatasetVersionRecord;
}

/** The rows of a version: its table's rows or its images, when it was registered. */
export function rowsOf(record: DatasetVersionRecord): number | undefined {
  const schema = record.schema as { rowCount?: number; imageCount?: number } | undefined;
  return schema?.rowCount ?? schema?.imageCount;
}

/** The default dataset name of a file: its base name without extension, when that is a valid name. */
export function datasetNameOf(file: string): string {
  const name = basename(file).replace(/\.[^.]*$/, '');
  if (!NAME_PATTERN.test(name)) {
    throw new CliError(
      `"${name}" (from ${basename(file)}) is not a dataset name: lowercase letters, digits, "-" or "_"`,
      EXIT.usage,
      'name the dataset with --name <dataset>',
    );
  }
  return name;
}

export class DatasetStore {
  private readonly s3: S3Client;
  private readonly db: DynamoDBDocumentClient;

  constructor(private readonly target: Target) {
    const local = target.local;
    const common = {
      region: target.region,
      ...(local
        ? { credentials: { accessKeyId: local.accessKeyId, secretAccessKey: local.secretAccessKey } }
        : {}),
      maxAttempts: local ? 1 : 3,
    };
    this.s3 = new S3Client({
      ...common,
      ...(local ? { endpoint: local.s3, forcePathStyle: true } : {}),
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    this.db = DynamoDBDocumentClient.from(
      new DynamoDBClient({ ...common, ...(local ? { endpoint: local.dynamodb } : {}) }),
    );
  }

  /** Uploads a file to `datasets/<name>/<file>`: the pipeline starts on it as on any upload. */
  async upload(file: string, name: string): Promise<Upload> {
    let bytes: number;
    try {
      const stat = statSync(file);
      if (!stat.isFile()) {
        throw new CliError(
          `${file} is not a file`,
          EXIT.usage,
          'upload one .csv, .jsonl or .zip file; for a folder of images, `aws s3 cp --recursive` it, then its _SUCCESS marker',
        );
      }
      accessSync(file, constants.R_OK);
      bytes = stat.size;
    } catch (error) {
      if (error instanceof CliError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      throw new CliError(`cannot read ${file}: ${code}`, code === 'ENOENT' ? EXIT.notFound : EXIT.forbidden);
    }
    if (!NAME_PATTERN.test(name)) {
      throw new CliError(
        `"${name}" is not a dataset name: lowercase letters, digits, "-" or "_" (at most 63)`,
        EXIT.usage,
      );
    }
    const key = `${KEYS.datasetPrefix(name)}${basename(file)}`;
    const trigger = datasetTrigger(basename(file));
    const hashed = trigger === 'csv' || trigger === 'jsonl' || trigger === 'zip';
    const version = hashed ? (await sha256(file)).slice(0, 16) : undefined;
    const existing = version === undefined ? undefined : await this.version(name, version);
    await this.aws(`cannot upload to s3://${this.target.datasetsBucket}/${key}`, () =>
      this.s3.send(
        new PutObjectCommand({
          Bucket: this.target.datasetsBucket,
          Key: key,
          Body: createReadStream(file),
          ContentLength: bytes,
        }),
      ),
    );
    return {
      bucket: this.target.datasetsBucket,
      key,
      bytes,
      ...(trigger ? { trigger } : {}),
      ...(version ? { version } : {}),
      ...(existing ? { existing } : {}),
    };
  }

  /** Waits (bounded) until RegisterDataset claims the version; its first run is the one the upload started. */
  async runOf(name: string, version: string, timeoutMs: number): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const record = await this.version(name, version);
      if (record) return record.firstRunId;
      if (Date.now() > deadline) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  version(name: string, version: string): Promise<DatasetVersionRecord | undefined> {
    return this.aws(`cannot read dataset ${name}`, async () => {
      const out = await this.db.send(
        new GetCommand({ TableName: this.target.tables.datasets, Key: { name, version } }),
      );
      return out.Item as DatasetVersionRecord | undefined;
    });
  }

  /** Every dataset: its versions, the newest one's status and rows. */
  list(): Promise<DatasetSummary[]> {
    return this.aws('cannot list datasets', async () => {
      const byName = new Map<string, DatasetVersionRecord[]>();
      let start: Record<string, unknown> | undefined;
      do {
        const out = await this.db.send(
          new ScanCommand({
            TableName: this.target.tables.datasets,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of (out.Items ?? []) as DatasetVersionRecord[]) {
          byName.set(item.name, [...(byName.get(item.name) ?? []), item]);
        }
        start = out.LastEvaluatedKey;
      } while (start);
      return [...byName.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, versions]) => {
          const latest = oldestFirst(versions).at(-1) as DatasetVersionRecord;
          const rows = rowsOf(latest);
          return {
            name,
            versions: versions.length,
            latestVersion: latest.version,
            status: latest.status,
            ...(rows === undefined ? {} : { rows }),
            updatedAt: latest.createdAt,
          };
        });
    });
  }

  /** A dataset's versions, oldest first; not found when it has none. */
  async versions(name: string): Promise<DatasetVersionRecord[]> {
    const items = await this.aws(`cannot read dataset ${name}`, async () => {
      const all: DatasetVersionRecord[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await this.db.send(
          new QueryCommand({
            TableName: this.target.tables.datasets,
            KeyConditionExpression: '#name = :name',
            ExpressionAttributeNames: { '#name': 'name' },
            ExpressionAttributeValues: { ':name': name },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        all.push(...((out.Items ?? []) as DatasetVersionRecord[]));
        start = out.LastEvaluatedKey;
      } while (start);
      return all;
    });
    if (items.length === 0) {
      throw new CliError(`no dataset "${name}"`, EXIT.notFound, '`nimbus datasets list` shows the datasets');
    }
    return oldestFirst(items);
  }

  /** A version's validation report: the newest version's, or the one whose id starts with `prefix`. */
  async report(
    name: string,
    prefix?: string,
  ): Promise<{ version: DatasetVersionRecord; report: ValidationReport }> {
    const versions = await this.versions(name);
    const version = prefix ? versions.find((v) => v.version.startsWith(prefix)) : versions.at(-1);
    if (!version) {
      throw new CliError(
        `dataset "${name}" has no version ${prefix}`,
        EXIT.notFound,
        `its versions: ${versions.map((v) => v.version).join(', ')}`,
      );
    }
    if (!version.reportKey) {
      throw new CliError(
        `${name}@${version.version} has no validation report (image datasets and older versions have none)`,
        EXIT.notFound,
      );
    }
    const reportKey = version.reportKey;
    const report = await this.aws(`cannot read the report of ${name}@${version.version}`, async () => {
      const out = await this.s3.send(
        new GetObjectCommand({ Bucket: this.target.datasetsBucket, Key: reportKey }),
      );
      return JSON.parse((await out.Body?.transformToString()) ?? 'null') as ValidationReport;
    });
    return { version, report };
  }

  destroy(): void {
    this.s3.destroy();
    this.db.destroy();
  }

  private async aws<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof CliError) throw error;
      const failure = awsError(error, what);
      if (this.target.kind === 'local' && failure.exitCode === EXIT.unreachable) {
        throw new CliError(
          `cannot reach the local platform of ${this.target.source}`,
          EXIT.unreachable,
          'start it with `nimbus local up` (or `npm start`)',
          { cause: error },
        );
      }
      throw failure;
    }
  }
}

/** A validation report as a person fixing the file reads it. */
export function reportLines(name: string, version: DatasetVersionRecord, report: ValidationReport): string[] {
  return [
    `${name}@${version.version}  ${report.valid ? 'valid' : 'INVALID'}  ${report.rowCount} rows, ${report.format}${report.delimiter ? ` (${JSON.stringify(report.delimiter)})` : ''}, ${report.errors} error(s), ${report.warnings} warning(s)`,
    ...(version.previousVersion ? [`  previous version: ${version.previousVersion}`] : []),
    ...(report.label ? [`  label: ${report.label.name} (${report.label.task})`] : []),
    ...report.columns.map(
      (c) =>
        `  column ${c.name.padEnd(20)} ${c.role.padEnd(8)} ${c.type.padEnd(11)} missing ${(c.missingRatio * 100).toFixed(1).padStart(5)}%  distinct ${c.cardinality}`,
    ),
    ...report.findings.map((f) => `  ${f.severity.padEnd(7)} ${f.code.padEnd(20)} ${f.message}`),
  ];
}

function oldestFirst(versions: readonly DatasetVersionRecord[]): DatasetVersionRecord[] {
  return [...versions].sort(
    (a, b) => a.createdAt.localeCompare(b.createdAt) || a.version.localeCompare(b.version),
  );
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
