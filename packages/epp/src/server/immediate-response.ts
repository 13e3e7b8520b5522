import { headerNames } from '@llmd/core';
import type { DropReason } from '../pipeline/request-outcome.js';
import { headerValueOption } from './envoy-headers.js';
import type { ProcessingResponseMessage } from './ext-proc-messages.js';

/**
 * llm-d's error code names per HTTP status, used in the body `inference error: <Code> - <message>`.
 * 413 has no llm-d counterpart (llm-d has no body size limit of its own): `PayloadTooLarge` is ours.
 */
const inferenceErrorCodes: ReadonlyMap<number, string> = new Map([
  [400, 'BadRequest'],
  [401, 'Unauthorized'],
  [403, 'Forbidden'],
  [404, 'NotFound'],
  [412, 'PreconditionFailed'],
  [413, 'PayloadTooLarge'],
  [429, 'ResourceExhausted'],
  [500, 'Internal'],
  [503, 'ServiceUnavailable'],
]);

/** The llm-d error code name for an HTTP status (`Internal` for statuses llm-d never produces). */
export function inferenceErrorCode(status: number): string {
  return inferenceErrorCodes.get(status) ?? 'Internal';
}

export interface ImmediateResponseInput {
  readonly status: number;
  readonly message: string;
  readonly dropReason: DropReason | undefined;
}

/**
 * An `immediate_response`: Envoy answers the client itself and never contacts a backend.
 * The status goes out as Envoy's `type.v3.StatusCode` enum name when one exists.
 */
export function immediateResponse(
  input: ImmediateResponseInput,
  httpStatusNames: ReadonlyMap<number, string>,
): ProcessingResponseMessage {
  const setHeaders =
    input.dropReason === undefined
      ? []
      : [headerValueOption(headerNames.requestDroppedReason, input.dropReason)];
  return {
    immediate_response: {
      status: { code: httpStatusNames.get(input.status) ?? input.status },
      headers: { set_headers: setHeaders },
      body: Buffer.from(`inference error: ${inferenceErrorCode(input.status)} - ${input.message}`, 'utf8'),
    },
  };
}
