/**
 * The shapes of Envoy ext_proc messages as @grpc/proto-loader hands them over and accepts them
 * (keepCase, longs and enums as strings, defaults, oneofs). Only the fields the EPP reads or writes
 * are listed. Envoy's own messages keep snake_case; protobufjs' built-in `google.protobuf.Struct`
 * and `Value` use camelCase (`fields`, `structValue`, `listValue`, …) even with keepCase.
 *
 * Decoded messages carry `null` for absent sub-messages (the `defaults` option), so every optional
 * field also admits `null`.
 */

export interface StructMessage {
  fields?: Record<string, ValueMessage> | null;
}

export interface ListValueMessage {
  values?: ValueMessage[] | null;
}

export interface ValueMessage {
  nullValue?: 'NULL_VALUE' | 0 | null;
  numberValue?: number | null;
  stringValue?: string | null;
  boolValue?: boolean | null;
  structValue?: StructMessage | null;
  listValue?: ListValueMessage | null;
  /** Which member of the `kind` oneof is set (decoding only). */
  kind?: string;
}

export interface HeaderValueMessage {
  key: string;
  /** Older Envoys send the value here; current ones use `raw_value`. */
  value?: string | null;
  raw_value?: Uint8Array | null;
}

export interface HeaderMapMessage {
  headers?: HeaderValueMessage[] | null;
}

export interface HeaderValueOptionMessage {
  header: HeaderValueMessage;
}

export interface HeaderMutationMessage {
  set_headers?: HeaderValueOptionMessage[];
  remove_headers?: string[];
}

export interface MetadataMessage {
  filter_metadata?: Record<string, StructMessage> | null;
}

export interface HttpHeadersMessage {
  headers?: HeaderMapMessage | null;
  end_of_stream?: boolean | null;
}

export interface HttpBodyMessage {
  body?: Uint8Array | null;
  end_of_stream?: boolean | null;
}

export interface HttpTrailersMessage {
  trailers?: HeaderMapMessage | null;
}

export interface ProtocolConfigurationMessage {
  request_body_mode?: string | number | null;
  response_body_mode?: string | number | null;
  send_body_without_waiting_for_header_response?: boolean | null;
}

/** Names of the `request` oneof members of `ProcessingRequest`. */
export type ProcessingRequestKind =
  | 'request_headers'
  | 'response_headers'
  | 'request_body'
  | 'response_body'
  | 'request_trailers'
  | 'response_trailers';

export interface ProcessingRequestMessage {
  request_headers?: HttpHeadersMessage | null;
  response_headers?: HttpHeadersMessage | null;
  request_body?: HttpBodyMessage | null;
  response_body?: HttpBodyMessage | null;
  request_trailers?: HttpTrailersMessage | null;
  response_trailers?: HttpTrailersMessage | null;
  /** The set member of the `request` oneof (decoding only). */
  request?: ProcessingRequestKind;
  metadata_context?: MetadataMessage | null;
  observability_mode?: boolean | null;
  protocol_config?: ProtocolConfigurationMessage | null;
}

export interface StreamedBodyResponseMessage {
  body?: Uint8Array | null;
  end_of_stream?: boolean | null;
}

export interface BodyMutationMessage {
  body?: Uint8Array | null;
  clear_body?: boolean | null;
  streamed_response?: StreamedBodyResponseMessage | null;
  /** The set member of the `mutation` oneof (decoding only). */
  mutation?: 'body' | 'clear_body' | 'streamed_response';
}

export interface CommonResponseMessage {
  status?: 'CONTINUE' | 'CONTINUE_AND_REPLACE' | null;
  header_mutation?: HeaderMutationMessage | null;
  body_mutation?: BodyMutationMessage | null;
  clear_route_cache?: boolean | null;
}

export interface HeadersResponseMessage {
  response?: CommonResponseMessage | null;
}

export interface BodyResponseMessage {
  response?: CommonResponseMessage | null;
}

export interface TrailersResponseMessage {
  header_mutation?: HeaderMutationMessage | null;
}

export interface ImmediateResponseMessage {
  /** `type.v3.HttpStatus`: the code is an enum name such as `TooManyRequests`. */
  status?: { code?: string | number | null } | null;
  headers?: HeaderMutationMessage | null;
  body?: Uint8Array | null;
  details?: string | null;
}

/** Names of the `response` oneof members of `ProcessingResponse`. */
export type ProcessingResponseKind =
  | 'request_headers'
  | 'response_headers'
  | 'request_body'
  | 'response_body'
  | 'request_trailers'
  | 'response_trailers'
  | 'immediate_response';

export interface ProcessingResponseMessage {
  request_headers?: HeadersResponseMessage | null;
  response_headers?: HeadersResponseMessage | null;
  request_body?: BodyResponseMessage | null;
  response_body?: BodyResponseMessage | null;
  request_trailers?: TrailersResponseMessage | null;
  response_trailers?: TrailersResponseMessage | null;
  immediate_response?: ImmediateResponseMessage | null;
  /** The set member of the `response` oneof (decoding only). */
  response?: ProcessingResponseKind;
  dynamic_metadata?: StructMessage | null;
}
