import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** OpenAI SDK error class names per status, as vLLM's OpenAI server and our simulator report them. */
const errorTypes: Readonly<Record<number, string>> = {
  400: 'BadRequestError',
  401: 'AuthenticationError',
  403: 'PermissionDeniedError',
  404: 'NotFoundError',
  405: 'MethodNotAllowedError',
  408: 'RequestTimeoutError',
  412: 'PreconditionFailedError',
  413: 'RequestEntityTooLargeError',
  431: 'RequestHeaderFieldsTooLargeError',
  429: 'RateLimitError',
  500: 'InternalServerError',
  502: 'BadGatewayError',
  503: 'ServiceUnavailableError',
  504: 'GatewayTimeoutError',
};

/** The gRPC-style code names llm-d puts in ImmediateResponse bodies (`inference error: <Code> - <message>`). */
const inferenceErrorCodes: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  408: 'RequestTimeout',
  412: 'PreconditionFailed',
  413: 'PayloadTooLarge',
  431: 'RequestHeaderFieldsTooLarge',
  429: 'ResourceExhausted',
  500: 'Internal',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

/** `inference error: <Code> - <message>`, the EPP's ImmediateResponse body text. */
export function inferenceErrorMessage(status: number, message: string): string {
  return `inference error: ${inferenceErrorCodes[status] ?? 'Unknown'} - ${message}`;
}

/** `{"error":{"message","type","param","code"}}`, the shape the official OpenAI clients parse. */
export function openAiErrorBody(status: number, message: string): string {
  return JSON.stringify({
    error: { message, type: errorTypes[status] ?? 'Error', param: null, code: status },
  });
}

/**
 * Answer with an OpenAI-style error. A response whose headers already went out cannot change its
 * status any more: it is cut off instead, so the client sees a truncated body rather than a lie.
 */
export function sendOpenAiError(
  response: ServerResponse,
  status: number,
  message: string,
  extraHeaders: OutgoingHttpHeaders = {},
): void {
  if (response.destroyed || response.writableEnded) return;
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = openAiErrorBody(status, message);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...extraHeaders,
  });
  response.end(body);
}
