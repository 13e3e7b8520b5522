/**
 * The contract every endpoint source (static list, file, Kubernetes) implements: it fills a
 * {@link Datastore} and marks it synced after its first complete listing.
 */
import type { Datastore } from './datastore.js';

export interface EndpointDiscovery {
  /**
   * Starts feeding `datastore`. Sources whose input is local (a list, a file) resolve after the
   * first listing and throw when it is invalid; remote sources resolve once started and retry in the
   * background, so wait for `datastore.whenSynced()` before serving.
   */
  start(datastore: Datastore): Promise<void>;
  /** Stops watching; endpoints already in the datastore stay. Idempotent. */
  stop(): Promise<void>;
}
