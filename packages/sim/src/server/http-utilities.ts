import type { IncomingMessage, ServerResponse } from 'node:http';

const errorTypes: Record<number, string> = {
  400: 'BadRequestError',
  401: 'AuthenticationError',
  403: 'PermissionDeniedError',
  404: 'NotFoundError',
  405: 'MethodNotAllowedError',
  413: 'RequestEntityTooLargeError',
  429: 'RateLimitError',
  500: 'InternalServerError',
  503: 'ServiceUnavailableError',
};

/** An error that becomes an OpenAI-style error response. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = errorTypes[status] ?? 'Error',
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

/** `{"error": {"message", "type", "param", "code"}}`, as vLLM's OpenAI server answers. */
export function sendError(response: ServerResponse, error: HttpError): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  sendJson(response, error.status, {
    error: { message: error.message, type: error.type, param: error.param, code: error.status },
  });
}

/** Read a JSON body of at most `maximumBytes` (413 beyond, 400 when it is not JSON). */
export async function readJsonBody(request: IncomingMessage, maximumBytes: number): Promise<unknown> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maximumBytes) {
    request.resume();
    throw new HttpError(413, `Request body of ${declared} bytes exceeds the limit of ${maximumBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maximumBytes) {
      request.resume();
      throw new HttpError(413, `Request body exceeds the limit of ${maximumBytes} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim().length === 0) throw new HttpError(400, 'Request body is empty: expected a JSON object');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `Request body is not valid JSON: ${(error as Error).message}`);
  }
}
