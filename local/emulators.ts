/**
 * The local AWS services: s3rver (S3) and dynalite (DynamoDB) on 127.0.0.1, persisted in a folder, with the
 * buckets and tables of the contract created on start. `./s3-keys.ts` keeps s3rver's keys inside their bucket
 * and exactly as the client wrote them.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { TABLES, type TableRole } from '../core/contract.ts';
import { checkPortFree, listenOn } from './listen.ts';
import { guardKeys, notificationKey, type S3rverApp } from './s3-keys.ts';

const require = createRequire(import.meta.url);

export interface EmulatorOptions {
  readonly dataDir: string;
  /** 0 picks a free port. */
  readonly s3Port: number;
  readonly dynamodbPort: number;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly buckets: readonly string[];
  readonly tables: Record<TableRole, string>;
}

/** The object events s3rver emits, in S3's notification format (the key URL-encoded, a space as `+`). */
export interface S3NotificationRecord {
  readonly eventName: string;
  readonly eventTime: string;
  readonly s3: {
    readonly bucket: { readonly name: string };
    readonly object: {
      readonly key: string;
      readonly size?: number;
      readonly eTag?: string;
      readonly sequencer?: string;
    };
  };
  readonly responseElements?: Record<string, string>;
}

export interface Emulators {
  readonly s3Endpoint: string;
  readonly dynamodbEndpoint: string;
  /** Subscribes to object events; returns the unsubscribe function. */
  onObjectEvent(listener: (record: S3NotificationRecord) => void): () => void;
  stop(): Promise<void>;
}

interface S3rverInstance extends S3rverApp {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  on(event: 'event', listener: (event: { Records: S3NotificationRecord[] }) => void): void;
  off(event: 'event', listener: (event: { Records: S3NotificationRecord[] }) => void): void;
}

export async function startEmulators(options: EmulatorOptions): Promise<Emulators> {
  const s3Dir = join(options.dataDir, 's3');
  const dynamoDir = join(options.dataDir, 'dynamodb');
  mkdirSync(s3Dir, { recursive: true });
  mkdirSync(dynamoDir, { recursive: true });

  const S3rver = require('s3rver') as new (options: Record<string, unknown>) => S3rverInstance;
  const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account') as {
    DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void; accessKeys: Map<string, string> };
  };
  if (!DUMMY_ACCOUNT.accessKeys.has(options.accessKeyId)) {
    DUMMY_ACCOUNT.createKeyPair(options.accessKeyId, options.secretAccessKey);
  }
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: options.s3Port,
    directory: s3Dir,
    silent: true,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  guardKeys(s3, s3Dir);
  // s3rver leaves a port in use as an unhandled 'error' event (a crash): asked first.
  await checkPortFree(options.s3Port);
  const s3Address = await s3.run();

  const dynalite = require('dynalite') as (options: Record<string, unknown>) => import('node:net').Server;
  const dynamo = dynalite({ path: dynamoDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  try {
    await listenOn(dynamo, options.dynamodbPort);
  } catch (error) {
    await s3.close();
    throw error;
  }
  const dynamoAddress = dynamo.address() as AddressInfo;

  const s3Endpoint = `http://127.0.0.1:${s3Address.port}`;
  const dynamodbEndpoint = `http://127.0.0.1:${dynamoAddress.port}`;
  await createTables(dynamodbEndpoint, options);

  return {
    s3Endpoint,
    dynamodbEndpoint,
    onObjectEvent(listener) {
      const onEvent = (event: { Records: S3NotificationRecord[] }) => {
        // s3rver puts the decoded key in its records; S3 URL-encodes it (and the platform decodes it).
        for (const record of event.Records) {
          listener({
            ...record,
            s3: { ...record.s3, object: { ...record.s3.object, key: notificationKey(record.s3.object.key) } },
          });
        }
      };
      s3.on('event', onEvent);
      return () => s3.off('event', onEvent);
    },
    async stop() {
      await s3.close();
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
    },
  };
}

async function createTables(endpoint: string, options: EmulatorOptions): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: options.region,
    credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
  });
  try {
    const existing = new Set((await client.send(new ListTablesCommand({}))).TableNames ?? []);
    for (const [role, name] of Object.entries(options.tables) as [TableRole, string][]) {
      if (existing.has(name)) continue;
      const schema: { partitionKey: string; sortKey?: string } = TABLES[role];
      const keys = [schema.partitionKey, ...(schema.sortKey ? [schema.sortKey] : [])];
      await client.send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: keys.map((key) => ({ AttributeName: key, AttributeType: 'S' })),
          KeySchema: keys.map((key, i) => ({ AttributeName: key, KeyType: i === 0 ? 'HASH' : 'RANGE' })),
        }),
      );
    }
  } finally {
    client.destroy();
  }
}
