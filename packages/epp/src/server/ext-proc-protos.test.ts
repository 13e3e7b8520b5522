import { describe, expect, it } from 'vitest';
import { loadExtProcProtos } from './ext-proc-protos.js';

/** Reads protobuf wire format (varint and length-delimited fields only): field number → raw values. */
function readFields(
  bytes: Uint8Array,
): Array<{ field: number; wireType: number; value: Uint8Array | number }> {
  const fields: Array<{ field: number; wireType: number; value: Uint8Array | number }> = [];
  let offset = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[offset++] as number;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
  };
  while (offset < bytes.length) {
    const key = varint();
    const wireType = key & 7;
    const field = Math.floor(key / 8);
    if (wireType === 0) fields.push({ field, wireType, value: varint() });
    else if (wireType === 2) {
      const length = varint();
      fields.push({ field, wireType, value: bytes.subarray(offset, offset + length) });
      offset += length;
    } else throw new Error(`unexpected wire type ${wireType}`);
  }
  return fields;
}

function only(bytes: Uint8Array, field: number): Uint8Array | number {
  const matches = readFields(bytes).filter((entry) => entry.field === field);
  expect(matches).toHaveLength(1);
  return (matches[0] as { value: Uint8Array | number }).value;
}

describe('loadExtProcProtos', () => {
  const protos = loadExtProcProtos();

  it('encodes BodyMutation.streamed_response with Envoy field numbers and decodes it back', () => {
    const body = Buffer.from('{"model":"m"}');
    const encoded = protos.encodeProcessingResponse({
      request_body: { response: { body_mutation: { streamed_response: { body, end_of_stream: true } } } },
    });

    // ProcessingResponse.request_body = 3 → BodyResponse.response = 1 → CommonResponse.body_mutation = 3
    // → BodyMutation.streamed_response = 3 → StreamedBodyResponse { body = 1, end_of_stream = 2 }.
    const bodyResponse = only(encoded, 3) as Uint8Array;
    const commonResponse = only(bodyResponse, 1) as Uint8Array;
    const bodyMutation = only(commonResponse, 3) as Uint8Array;
    const streamed = only(bodyMutation, 3) as Uint8Array;
    expect(Buffer.from(only(streamed, 1) as Uint8Array)).toEqual(body);
    expect(only(streamed, 2)).toBe(1);

    const decoded = protos.decodeProcessingResponse(encoded);
    expect(decoded.response).toBe('request_body');
    const mutation = decoded.request_body?.response?.body_mutation;
    expect(mutation?.mutation).toBe('streamed_response');
    expect(Buffer.from(mutation?.streamed_response?.body ?? [])).toEqual(body);
    expect(mutation?.streamed_response?.end_of_stream).toBe(true);
  });

  it('keeps streamed_response in the mutation oneof: a later member replaces it', () => {
    const encoded = Buffer.concat([
      protos.encodeProcessingResponse({
        request_body: { response: { body_mutation: { streamed_response: { body: Buffer.from('a') } } } },
      }),
      protos.encodeProcessingResponse({
        request_body: { response: { body_mutation: { clear_body: true } } },
      }),
    ]);
    const mutation = protos.decodeProcessingResponse(encoded).request_body?.response?.body_mutation;
    expect(mutation?.mutation).toBe('clear_body');
    expect(mutation?.streamed_response).toBeUndefined();
  });

  it('decodes ProcessingRequest.protocol_config (11) and observability_mode (10) as Envoy sends them', () => {
    // ProtocolConfiguration { request_body_mode = 1: FULL_DUPLEX_STREAMED (4), response_body_mode = 2: 4,
    // send_body_without_waiting_for_header_response = 3: true }, built by hand.
    const protocolConfiguration = Buffer.from([0x08, 0x04, 0x10, 0x04, 0x18, 0x01]);
    const wire = Buffer.concat([
      Buffer.from([0x50, 0x01]), // field 10, varint 1
      Buffer.from([0x5a, protocolConfiguration.length]), // field 11, length-delimited
      protocolConfiguration,
      Buffer.from([0x2a, 0x02, 0x10, 0x01]), // field 5 (response_body) { end_of_stream = 2: true }
    ]);
    const decoded = protos.decodeProcessingRequest(wire);
    expect(decoded.observability_mode).toBe(true);
    expect(decoded.protocol_config).toEqual({
      request_body_mode: 'FULL_DUPLEX_STREAMED',
      response_body_mode: 'FULL_DUPLEX_STREAMED',
      send_body_without_waiting_for_header_response: true,
    });
    expect(decoded.request).toBe('response_body');
    expect(decoded.response_body?.end_of_stream).toBe(true);
  });

  it("exposes Envoy's HTTP status enum names by number", () => {
    expect(protos.httpStatusNames.get(429)).toBe('TooManyRequests');
    expect(protos.httpStatusNames.get(503)).toBe('ServiceUnavailable');
    expect(protos.httpStatusNames.get(400)).toBe('BadRequest');
    expect(protos.httpStatusNames.get(413)).toBe('PayloadTooLarge');
  });

  it('reads header values and Struct metadata with the expected member names', () => {
    const decoded = protos.decodeProcessingRequest(
      protos.encodeProcessingRequest({
        request_headers: { headers: { headers: [{ key: ':path', raw_value: Buffer.from('/v1/models') }] } },
        metadata_context: {
          filter_metadata: {
            'envoy.lb.subset_hint': {
              fields: {
                'x-gateway-destination-endpoint-subset': {
                  listValue: { values: [{ stringValue: '10.0.0.1:8000' }] },
                },
              },
            },
          },
        },
      }),
    );
    expect(Buffer.from(decoded.request_headers?.headers?.headers?.[0]?.raw_value ?? []).toString()).toBe(
      '/v1/models',
    );
    const hint = decoded.metadata_context?.filter_metadata?.['envoy.lb.subset_hint'];
    expect(hint?.fields?.['x-gateway-destination-endpoint-subset']?.listValue?.values?.[0]?.stringValue).toBe(
      '10.0.0.1:8000',
    );
  });
});
