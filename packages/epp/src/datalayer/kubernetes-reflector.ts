/**
 * The list-then-watch loop of one Kubernetes collection (client-go's reflector): list to get a full
 * picture and a resourceVersion, watch from that version, re-watch when the server ends the stream,
 * and relist when the version has expired (HTTP 410 Gone, or a watch `ERROR` event with code 410).
 * Failures retry with exponential backoff; nothing here ever gives up while started.
 *
 * The client library's own `ListWatch` is not used because it stops for good on the first non-410
 * error and does not end a watch on an `ERROR` 410 event; both matter for a long-running EPP.
 */
import type { KubernetesObject, Watch } from '@kubernetes/client-node';
import type { Logger } from '@llmd/core';

export type KubernetesWatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface KubernetesListResult<Item> {
  readonly items: ReadonlyArray<Item>;
  readonly resourceVersion: string;
}

export interface KubernetesReflectorOptions<Item extends KubernetesObject> {
  /** For logs: `pods`, `inferencepools`. */
  readonly resource: string;
  readonly watch: Watch;
  /** Collection path, e.g. `/api/v1/namespaces/llm/pods`. */
  readonly path: string;
  /** `labelSelector` / `fieldSelector`, applied to both list and watch. */
  readonly query: Readonly<Record<string, string>>;
  list(): Promise<KubernetesListResult<Item>>;
  /** A complete listing: replace everything known. */
  onList(items: ReadonlyArray<Item>): void;
  onEvent(type: KubernetesWatchEventType, item: Item): void;
  readonly logger: Logger;
  readonly initialRetryDelayMilliseconds: number;
  readonly maximumRetryDelayMilliseconds: number;
}

/** An error carrying an HTTP status (client-node's `ApiException.code`, `Watch`'s `statusCode`). */
function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const record = error as { statusCode?: unknown; code?: unknown };
  if (typeof record.statusCode === 'number') return record.statusCode;
  if (typeof record.code === 'number') return record.code;
  return undefined;
}

type WatchOutcome = 'closed' | 'expired' | 'failed';

export class KubernetesReflector<Item extends KubernetesObject> {
  readonly #options: KubernetesReflectorOptions<Item>;
  #resourceVersion: string | undefined;
  #stopped = true;
  #loop: Promise<void> | undefined;
  #abortWatch: (() => void) | undefined;
  #cancelSleep: (() => void) | undefined;
  #lists = 0;
  #watches = 0;

  constructor(options: KubernetesReflectorOptions<Item>) {
    this.#options = options;
  }

  /** Number of list calls made (tests and debugging: a relist shows up here). */
  get lists(): number {
    return this.#lists;
  }

  get watches(): number {
    return this.#watches;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#loop = this.#run();
  }

  /** Stops; no callback runs after this returns. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abortWatch?.();
    this.#cancelSleep?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { logger, initialRetryDelayMilliseconds, maximumRetryDelayMilliseconds } = this.#options;
    let delay = initialRetryDelayMilliseconds;
    while (!this.#stopped) {
      try {
        if (this.#resourceVersion === undefined) {
          this.#lists++;
          const listed = await this.#options.list();
          if (this.#stopped) return;
          this.#options.onList(listed.items);
          this.#resourceVersion = listed.resourceVersion;
        }
        const startedAt = Date.now();
        const { outcome, events, error } = await this.#watchOnce(this.#resourceVersion);
        if (this.#stopped) return;
        if (outcome === 'expired') {
          logger.info({ resource: this.#options.resource }, 'watch resourceVersion expired; relisting');
          this.#resourceVersion = undefined;
          delay = initialRetryDelayMilliseconds;
          continue;
        }
        if (outcome === 'failed') {
          logger.warn(
            {
              resource: this.#options.resource,
              error: error instanceof Error ? error.message : String(error),
            },
            'watch failed; relisting after a delay',
          );
          this.#resourceVersion = undefined;
        } else if (events > 0 || Date.now() - startedAt >= 1000) {
          // A normal end of a long watch: resume at once from the last version seen.
          delay = initialRetryDelayMilliseconds;
          continue;
        }
        // A watch that failed or ended at once: back off instead of hammering the API server.
        await this.#sleep(delay);
        delay = Math.min(delay * 2, maximumRetryDelayMilliseconds);
      } catch (error) {
        if (this.#stopped) return;
        logger.warn(
          { resource: this.#options.resource, error: error instanceof Error ? error.message : String(error) },
          'listing failed; retrying',
        );
        this.#resourceVersion = undefined;
        await this.#sleep(delay);
        delay = Math.min(delay * 2, maximumRetryDelayMilliseconds);
      }
    }
  }

  #watchOnce(resourceVersion: string): Promise<{ outcome: WatchOutcome; events: number; error?: unknown }> {
    this.#watches++;
    return new Promise((resolve) => {
      let events = 0;
      let outcome: WatchOutcome | undefined;
      let watchError: unknown;
      let controller: AbortController | undefined;
      let settled = false;
      const end = (result: WatchOutcome, error?: unknown) => {
        outcome ??= result;
        watchError ??= error;
        controller?.abort();
      };
      const settle = () => {
        if (settled) return;
        settled = true;
        this.#abortWatch = undefined;
        resolve({ outcome: outcome ?? 'closed', events, error: watchError });
      };
      this.#abortWatch = () => {
        end('closed');
        settle();
      };
      const query: Record<string, string | boolean | number> = {
        ...this.#options.query,
        resourceVersion,
        allowWatchBookmarks: true,
        // Like client-go: the server ends the watch after 5–10 minutes, so a silently dead
        // connection cannot hide changes for long.
        timeoutSeconds: Math.floor(300 + Math.random() * 300),
      };
      this.#options.watch
        .watch(
          this.#options.path,
          query,
          (type: string, object: unknown) => {
            if (this.#stopped || outcome !== undefined) return;
            const item = object as Item & { code?: number; message?: string };
            switch (type) {
              case 'ADDED':
              case 'MODIFIED':
              case 'DELETED':
                events++;
                this.#options.onEvent(type, item);
                this.#resourceVersion = item.metadata?.resourceVersion ?? this.#resourceVersion;
                return;
              case 'BOOKMARK':
                events++;
                this.#resourceVersion = item.metadata?.resourceVersion ?? this.#resourceVersion;
                return;
              case 'ERROR':
                // A `Status` object; 410 means our resourceVersion is older than the server keeps.
                end(
                  item.code === 410 ? 'expired' : 'failed',
                  new Error(item.message ?? `watch error ${item.code}`),
                );
                return;
              default:
                return;
            }
          },
          (error: unknown) => {
            if (error && outcome === undefined) {
              outcome = statusOf(error) === 410 ? 'expired' : 'failed';
              watchError = error;
            }
            settle();
          },
        )
        .then(
          (watchController) => {
            controller = watchController;
            // Ended (by an ERROR event or stop) before the controller was known.
            if (outcome !== undefined || this.#stopped) watchController.abort();
          },
          (error: unknown) => {
            outcome ??= statusOf(error) === 410 ? 'expired' : 'failed';
            watchError ??= error;
            settle();
          },
        );
    });
  }

  #sleep(milliseconds: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, milliseconds);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#cancelSleep = () => {
        this.#cancelSleep = undefined;
        done();
      };
    });
  }
}
