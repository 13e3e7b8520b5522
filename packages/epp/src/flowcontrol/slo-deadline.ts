import { deprecatedHeaderAliases, headerNames } from '@llmd/core';

const ttftAliases = Object.entries(deprecatedHeaderAliases)
  .filter(([, current]) => current === headerNames.sloTtftMilliseconds)
  .map(([alias]) => alias);

/**
 * The absolute TTFT deadline a request asks for: `receivedAt` + `x-llm-d-slo-ttft-ms` (or its
 * deprecated alias `x-slo-ttft-ms`). Undefined when the header is missing, empty, not a number or
 * not positive, as llm-d treats an invalid SLO as no SLO. Header names must be lower-cased.
 */
export function sloDeadlineFromHeaders(
  headers: Readonly<Record<string, string>>,
  receivedAt: number,
): number | undefined {
  let text = headers[headerNames.sloTtftMilliseconds];
  for (let index = 0; text === undefined && index < ttftAliases.length; index++) {
    text = headers[ttftAliases[index] as string];
  }
  if (text === undefined || text.trim() === '') return undefined;
  const milliseconds = Number(text.trim());
  return Number.isFinite(milliseconds) && milliseconds > 0 ? receivedAt + milliseconds : undefined;
}
