import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError } from '@llmd/core';
import { generateSelfSignedCertificate, type TlsMaterial } from './self-signed-certificate.js';

/** llm-d's layout of `--cert-path`: a directory holding these two files (a Kubernetes TLS secret). */
export const certificateFileName = 'tls.crt';
export const privateKeyFileName = 'tls.key';

export interface ServerTlsOptions {
  /** TLS on the ext_proc port; default true, as llm-d's `--secure-serving`. */
  readonly secureServing?: boolean;
  /** Directory with `tls.crt` and `tls.key`; when absent a self-signed certificate is generated. */
  readonly certPath?: string;
}

export interface ServerTls {
  readonly credentials: grpc.ServerCredentials;
  /** The certificate and key in use; undefined when serving plaintext. */
  readonly material: TlsMaterial | undefined;
}

/** Reads `tls.crt` and `tls.key` from a certificate directory and checks that they belong together. */
export async function loadCertificateDirectory(certPath: string): Promise<TlsMaterial> {
  const read = async (fileName: string): Promise<string> => {
    const path = join(certPath, fileName);
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      throw new InvalidArgumentError(
        `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`,
        {
          path: 'certPath',
          cause: error,
        },
      );
    }
  };
  const [certificatePem, privateKeyPem] = await Promise.all([
    read(certificateFileName),
    read(privateKeyFileName),
  ]);
  // Fail at startup with a clear message instead of at the first TLS handshake.
  let matches: boolean;
  try {
    matches = new X509Certificate(certificatePem).checkPrivateKey(createPrivateKey(privateKeyPem));
  } catch (error) {
    throw new InvalidArgumentError(
      `invalid certificate or key in ${certPath}: ${error instanceof Error ? error.message : String(error)}`,
      { path: 'certPath', cause: error },
    );
  }
  if (!matches) {
    throw new InvalidArgumentError(
      `${privateKeyFileName} does not match ${certificateFileName} in ${certPath}`,
      {
        path: 'certPath',
      },
    );
  }
  return { certificatePem, privateKeyPem };
}

/**
 * gRPC server credentials for the ext_proc port: plaintext when `secureServing` is false, the
 * certificate from `certPath` when given, a freshly generated self-signed certificate otherwise.
 * Client certificates are not requested (llm-d does not either).
 */
export async function createServerTls(options: ServerTlsOptions): Promise<ServerTls> {
  if (options.secureServing === false)
    return { credentials: grpc.ServerCredentials.createInsecure(), material: undefined };
  const material =
    options.certPath === undefined || options.certPath === ''
      ? generateSelfSignedCertificate()
      : await loadCertificateDirectory(options.certPath);
  const credentials = grpc.ServerCredentials.createSsl(
    null,
    [{ cert_chain: Buffer.from(material.certificatePem), private_key: Buffer.from(material.privateKeyPem) }],
    false,
  );
  return { credentials, material };
}
