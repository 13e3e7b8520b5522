/**
 * llm-d's `file-discovery` source for running without Kubernetes: endpoints come from a YAML or
 * JSON file that is watched for changes.
 *
 * ```yaml
 * endpoints:
 * - name: vllm-0
 *   namespace: default
 *   address: 10.0.0.11
 *   port: 8000
 *   labels: { llm-d.ai/role: decode }
 * ```
 *
 * The directory is watched rather than the file, because editors and ConfigMap volumes replace files
 * by renaming (a watch on the old inode would go silent). A file that fails to parse on reload keeps
 * the last good set and logs a warning; at start it is an error.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import {
  createEndpoint,
  type Endpoint,
  LlmdError,
  type Logger,
  noopLogger,
  parseWithSchema,
} from '@llmd/core';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Datastore } from './datastore.js';
import type { EndpointDiscovery } from './endpoint-discovery.js';

/** YAML writes `true` or `8000` for label values Kubernetes would quote; accept them as strings. */
const labelValueSchema = z.union([z.string(), z.number(), z.boolean()]).transform((value) => String(value));

const fileEndpointSchema = z
  .object({
    name: z.string().min(1).optional(),
    namespace: z.string().min(1).optional(),
    address: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    labels: z.record(z.string(), labelValueSchema).optional(),
  })
  .strict();

export const endpointFileSchema = z
  .object({ endpoints: z.array(fileEndpointSchema) })
  .strict()
  .superRefine((file, context) => {
    const seen = new Map<string, number>();
    file.endpoints.forEach((endpoint, index) => {
      const key = `${endpoint.address}:${endpoint.port}`;
      const first = seen.get(key);
      if (first !== undefined) {
        context.addIssue({
          code: 'custom',
          message: `duplicates endpoints[${first}] (${key})`,
          path: ['endpoints', index],
        });
      } else seen.set(key, index);
    });
  });
export type EndpointFile = z.output<typeof endpointFileSchema>;

/** Parses and validates the text of an endpoint file; errors name the field (`endpoints[1].port`). */
export function parseEndpointFile(text: string, source = 'endpoint file'): Endpoint[] {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new LlmdError(
      'invalid_config',
      `${source} is not valid YAML or JSON: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const file = parseWithSchema(endpointFileSchema, document ?? {}, 'invalid_config', source);
  return file.endpoints.map((endpoint) => createEndpoint(endpoint));
}

export interface FileDiscoveryOptions {
  path: string;
  /** Reload when the file changes (llm-d's `watchFile`). Default true. */
  watch?: boolean;
  /** Quiet time after the last change before reloading, so half-written files are skipped. Default 100 ms. */
  debounceMilliseconds?: number;
  logger?: Logger;
}

export class FileDiscovery implements EndpointDiscovery {
  readonly #path: string;
  readonly #watch: boolean;
  readonly #debounceMilliseconds: number;
  readonly #logger: Logger;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastText: string | undefined;
  #datastore: Datastore | undefined;
  /** Serialises reloads: a change during a reload triggers one more reload afterwards. */
  #reloading: Promise<void> | undefined;
  #reloadAgain = false;
  #stopped = false;

  constructor(options: FileDiscoveryOptions) {
    this.#path = resolve(options.path);
    this.#watch = options.watch ?? true;
    this.#debounceMilliseconds = options.debounceMilliseconds ?? 100;
    this.#logger = (options.logger ?? noopLogger).child({ discovery: 'file', path: this.#path });
  }

  async start(datastore: Datastore): Promise<void> {
    this.#datastore = datastore;
    this.#stopped = false;
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      throw new LlmdError(
        'invalid_config',
        `cannot read endpoint file ${this.#path}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const endpoints = parseEndpointFile(text, `endpoint file ${this.#path}`);
    this.#lastText = text;
    datastore.replaceAll(endpoints);
    datastore.markSynced();
    if (this.#watch) this.#startWatching();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#reloading;
  }

  #startWatching(): void {
    const fileName = basename(this.#path);
    // Any entry of the directory may be the change: ConfigMap volumes swap a `..data` symlink, not the
    // file itself. Reloads compare the text, so unrelated changes cost one small read.
    this.#watcher = watch(dirname(this.#path), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== fileName && !changed.startsWith('..')) return;
      this.#schedule();
    });
    this.#watcher.on('error', (error) => {
      this.#logger.warn(
        { error: error.message },
        'watching the endpoint file failed; changes are no longer seen',
      );
    });
  }

  #schedule(): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#requestReload();
    }, this.#debounceMilliseconds);
  }

  #requestReload(): void {
    if (this.#reloading) {
      this.#reloadAgain = true;
      return;
    }
    this.#reloading = this.#reload().finally(() => {
      this.#reloading = undefined;
      if (this.#reloadAgain && !this.#stopped) {
        this.#reloadAgain = false;
        this.#requestReload();
      }
    });
  }

  async #reload(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      this.#logger.warn(
        { error: (error as Error).message },
        'cannot read the endpoint file; keeping the last good set',
      );
      return;
    }
    if (this.#stopped || text === this.#lastText) return;
    let endpoints: Endpoint[];
    try {
      endpoints = parseEndpointFile(text, `endpoint file ${this.#path}`);
    } catch (error) {
      this.#logger.warn(
        { error: (error as Error).message },
        'invalid endpoint file; keeping the last good set',
      );
      return;
    }
    this.#lastText = text;
    this.#datastore?.replaceAll(endpoints);
    this.#logger.info({ endpoints: endpoints.length }, 'endpoint file reloaded');
  }
}
