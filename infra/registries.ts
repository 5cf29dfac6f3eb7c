import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLES, type TableRole } from '../core/contract.ts';

export interface RegistriesProps {
  /** What happens to the tables when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The datasets, runs and models tables, keyed as the contract says: on-demand billing, point-in-time
 * recovery, AWS-managed encryption, deletion protection unless the tables are meant to be destroyed.
 */
export class Registries extends Construct {
  readonly tables: Record<TableRole, dynamodb.TableV2>;

  constructor(scope: Construct, id: string, props: RegistriesProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const table = (role: TableRole, logicalId: string) => {
      const schema: { partitionKey: string; sortKey?: string } = TABLES[role];
      return new dynamodb.TableV2(this, logicalId, {
        partitionKey: { name: schema.partitionKey, type: dynamodb.AttributeType.STRING },
        ...(schema.sortKey ? { sortKey: { name: schema.sortKey, type: dynamodb.AttributeType.STRING } } : {}),
        billing: dynamodb.Billing.onDemand(),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
        deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
        removalPolicy,
      });
    };
    this.tables = {
      datasets: table('datasets', 'Datasets'),
      runs: table('runs', 'Runs'),
      models: table('models', 'Models'),
    };
  }
}
