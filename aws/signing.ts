/**
 * AWS Signature Version 4 with @smithy/signature-v4 and node:crypto: signing a request (the CLI's registry
 * changes, for API Gateway's IAM authorization) and checking one (the local Step Functions and API Gateway
 * endpoints, and the local API's IAM routes, where the local platform's credentials stand in for IAM).
 */
import { createHash, createHmac, type Hash, type Hmac, timingSafeEqual } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

type SourceData = string | ArrayBuffer | ArrayBufferView;

/** SHA-256 and HMAC-SHA256 from node:crypto, in the shape the SigV4 signer takes. */
export class Sha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.create();
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {
    this.hash = this.create();
  }
  private create(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret));
  }
}

function bytes(data: SourceData): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** A request as a server received it. */
export interface ReceivedRequest {
  readonly method: string;
  /** The path and query as sent (`/a/b?x=1`). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
/** How far a request's signing time may be from now (AWS's own tolerance). */
const SKEW_MS = 15 * 60 * 1000;

/** The credential scope a signature must name, when the checker expects one (any, when left out). */
export interface SignatureScope {
  readonly service?: string;
  readonly region?: string;
}

/**
 * Whether a request carries a valid SigV4 signature by these credentials: the access key it names is theirs,
 * its scope is `scope`'s (a service and region, when given), it was signed within 15 minutes of now, a
 * payload hash it sends is the body's, and signing the same headers and body again gives the same signature
 * (compared in constant time).
 */
export async function hasValidSignature(
  request: ReceivedRequest,
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string },
  now = Date.now(),
  scope: SignatureScope = {},
): Promise<boolean> {
  const header = (name: string): string | undefined => {
    const value = request.headers[name];
    return Array.isArray(value) ? value.join(',') : value;
  };
  const match = AUTHORIZATION.exec(header('authorization') ?? '');
  const amzDate = header('x-amz-date') ?? '';
  const when = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!match || !when) return false;
  const [, accessKeyId, day, region, service, signedHeaders] = match;
  const signingDate = new Date(`${when[1]}-${when[2]}-${when[3]}T${when[4]}:${when[5]}:${when[6]}Z`);
  if (accessKeyId !== credentials.accessKeyId || amzDate.slice(0, 8) !== day) return false;
  if ((scope.service && service !== scope.service) || (scope.region && region !== scope.region)) return false;
  if (Math.abs(now - signingDate.getTime()) > SKEW_MS) return false;
  // The signer trusts a payload hash header as the body's hash: it must be this body's, or another body
  // would pass under the same signature (API Gateway hashes the body it received, whatever the header says).
  const payloadHash = header('x-amz-content-sha256');
  if (payloadHash !== undefined && payloadHash !== createHash('sha256').update(request.body).digest('hex')) {
    return false;
  }
  const names = (signedHeaders as string).split(';');
  const headers: Record<string, string> = {};
  for (const name of names) {
    const value = header(name);
    if (value === undefined) return false;
    headers[name] = value;
  }
  const url = new URL(request.url, `http://${header('host') ?? 'localhost'}`);
  const query: Record<string, string> = {};
  url.searchParams.forEach((value, key) => {
    query[key] = value;
  });
  const signer = new SignatureV4({
    service: service as string,
    region: region as string,
    credentials,
    sha256: Sha256,
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers,
      body: request.body,
    },
    { signingDate, signableHeaders: new Set(names), unsignableHeaders: new Set() },
  );
  const expected = Buffer.from(String(signed.headers.authorization ?? ''));
  const got = Buffer.from(header('authorization') ?? '');
  return expected.length === got.length && timingSafeEqual(expected, got);
}
