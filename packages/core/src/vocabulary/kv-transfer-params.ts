/**
 * vLLM's `kv_transfer_params` (NixlConnector). The P/D sidecar sends the request half on the
 * prefill leg and passes the prefill response's object **verbatim** to the decode leg: newer vLLM
 * versions add fields, so unknown ones must survive untouched (hence the index signature).
 */
export interface KvTransferParams {
  do_remote_decode?: boolean;
  do_remote_prefill?: boolean;
  remote_engine_id?: string | null;
  remote_block_ids?: number[] | null;
  remote_request_id?: string | null;
  remote_host?: string | null;
  remote_port?: number | null;
  tp_size?: number;
  [field: string]: unknown;
}

/** What the sidecar puts on the prefill leg: "prefill here, a remote engine will decode". */
export function prefillLegKvTransferParams(): KvTransferParams {
  return {
    do_remote_decode: true,
    do_remote_prefill: false,
    remote_engine_id: null,
    remote_block_ids: null,
    remote_host: null,
    remote_port: null,
  };
}
