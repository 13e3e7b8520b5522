/**
 * A parser for the Prometheus text exposition format (version 0.0.4, and the sample lines of
 * OpenMetrics) built for scraping twenty times a second: given the metric names it needs, it skips
 * every other line after a few character reads, without allocating (vLLM's /metrics is mostly
 * histogram buckets the router never reads).
 *
 * Comments (`# HELP`, `# TYPE`, `# EOF`) are ignored; metric names may contain `:`; label values
 * unescape `\\`, `\"` and `\n`; values accept `NaN`, `+Inf`, `-Inf`; an optional timestamp (ms) is
 * kept. Malformed lines are skipped rather than failing the scrape: one odd line from a model server
 * must not blind the router to its queue length.
 */

export interface PrometheusSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** Milliseconds since the epoch, when the line carried a timestamp. */
  readonly timestamp: number | undefined;
}

const characterCode = {
  tab: 9,
  newline: 10,
  carriageReturn: 13,
  space: 32,
  quote: 34,
  hash: 35,
  comma: 44,
  equals: 61,
  backslash: 92,
  openBrace: 123,
  closeBrace: 125,
  letterN: 110,
} as const;

const emptyLabels: Readonly<Record<string, string>> = Object.freeze({});

function isBlank(code: number): boolean {
  return code === characterCode.space || code === characterCode.tab;
}

function parseNumber(text: string): number {
  switch (text) {
    case 'NaN':
      return Number.NaN;
    case '+Inf':
    case 'Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
    default:
      // Number('') is 0 and Number(' ') too: an empty token is malformed, not zero.
      return text === '' ? Number.NaN : Number(text);
  }
}

/** Result of reading a label set: the labels and where the closing brace ended, or undefined if malformed. */
interface LabelParse {
  labels: Record<string, string>;
  end: number;
}

function parseLabels(text: string, start: number, lineEnd: number): LabelParse | undefined {
  const labels: Record<string, string> = {};
  let position = start; // just after `{`
  for (;;) {
    while (
      position < lineEnd &&
      (isBlank(text.charCodeAt(position)) || text.charCodeAt(position) === characterCode.comma)
    )
      position++;
    if (position >= lineEnd) return undefined;
    if (text.charCodeAt(position) === characterCode.closeBrace) return { labels, end: position + 1 };
    const nameStart = position;
    while (position < lineEnd) {
      const code = text.charCodeAt(position);
      if (code === characterCode.equals || isBlank(code)) break;
      position++;
    }
    const labelName = text.slice(nameStart, position);
    while (position < lineEnd && isBlank(text.charCodeAt(position))) position++;
    if (labelName === '' || text.charCodeAt(position) !== characterCode.equals) return undefined;
    position++;
    while (position < lineEnd && isBlank(text.charCodeAt(position))) position++;
    if (text.charCodeAt(position) !== characterCode.quote) return undefined;
    position++;
    // Fast path: no escapes, one slice.
    let valueStart = position;
    let value = '';
    for (;;) {
      if (position >= lineEnd) return undefined;
      const code = text.charCodeAt(position);
      if (code === characterCode.quote) break;
      if (code === characterCode.backslash) {
        value += text.slice(valueStart, position);
        const escaped = text.charCodeAt(position + 1);
        if (escaped === characterCode.letterN) value += '\n';
        else if (escaped === characterCode.backslash) value += '\\';
        else if (escaped === characterCode.quote) value += '"';
        else value += text.slice(position, position + 2); // unknown escape: keep it verbatim
        position += 2;
        valueStart = position;
        continue;
      }
      position++;
    }
    value += text.slice(valueStart, position);
    labels[labelName] = value;
    position++; // closing quote
  }
}

/** Parses the rest of a sample line after its name (`position` is just past the name). */
function parseSampleRest(
  text: string,
  name: string,
  start: number,
  lineEnd: number,
): PrometheusSample | undefined {
  let position = start;
  while (position < lineEnd && isBlank(text.charCodeAt(position))) position++;
  let labels: Readonly<Record<string, string>> = emptyLabels;
  if (text.charCodeAt(position) === characterCode.openBrace) {
    const parsed = parseLabels(text, position + 1, lineEnd);
    if (!parsed) return undefined;
    labels = parsed.labels;
    position = parsed.end;
  }
  while (position < lineEnd && isBlank(text.charCodeAt(position))) position++;
  const valueStart = position;
  while (position < lineEnd && !isBlank(text.charCodeAt(position))) position++;
  const valueText = text.slice(valueStart, position);
  const value = parseNumber(valueText);
  if (Number.isNaN(value) && valueText !== 'NaN') return undefined;
  while (position < lineEnd && isBlank(text.charCodeAt(position))) position++;
  let timestamp: number | undefined;
  // Anything after `#` is an OpenMetrics exemplar, not a timestamp.
  if (position < lineEnd && text.charCodeAt(position) !== characterCode.hash) {
    const timestampStart = position;
    while (position < lineEnd && !isBlank(text.charCodeAt(position))) position++;
    const parsedTimestamp = Number(text.slice(timestampStart, position));
    if (!Number.isFinite(parsedTimestamp)) return undefined;
    timestamp = parsedTimestamp;
  }
  return { name, labels, value, timestamp };
}

/** End of the line containing `position`, without a trailing `\r`. */
function lineEndFrom(text: string, position: number): number {
  let lineEnd = text.indexOf('\n', position);
  if (lineEnd === -1) lineEnd = text.length;
  if (lineEnd > position && text.charCodeAt(lineEnd - 1) === characterCode.carriageReturn) lineEnd--;
  return lineEnd;
}

/**
 * The wanted-names path. Per line it reads one character where each wanted name would end and
 * compares the whole name only when that character is `{` or a blank, so unwanted lines (most of
 * them) cost a newline search and a few character reads, and allocate nothing.
 */
function parseWanted(text: string, wantedNames: ReadonlySet<string>): PrometheusSample[] {
  const samples: PrometheusSample[] = [];
  const names = [...wantedNames].filter((name) => name !== '');
  if (names.length === 0) return samples;
  const length = text.length;
  let lineStart = 0;
  while (lineStart < length) {
    let position = lineStart;
    while (position < length && isBlank(text.charCodeAt(position))) position++;
    let newline = text.indexOf('\n', position);
    if (newline === -1) newline = length;
    lineStart = newline + 1;
    if (text.charCodeAt(position) === characterCode.hash) continue;
    for (const name of names) {
      const nameEnd = position + name.length;
      if (nameEnd > newline) continue;
      const after = text.charCodeAt(nameEnd);
      if ((after === characterCode.openBrace || isBlank(after)) && text.startsWith(name, position)) {
        const lineEnd =
          newline > nameEnd && text.charCodeAt(newline - 1) === characterCode.carriageReturn
            ? newline - 1
            : newline;
        const sample = parseSampleRest(text, name, nameEnd, lineEnd);
        if (sample) samples.push(sample);
        break;
      }
    }
  }
  return samples;
}

/**
 * Parses `text`, returning samples in exposition order. With `wantedNames`, only samples whose exact
 * name is in the set are returned (`_bucket`/`_sum` lines are their own names).
 */
export function parsePrometheusText(text: string, wantedNames?: ReadonlySet<string>): PrometheusSample[] {
  if (wantedNames) return parseWanted(text, wantedNames);
  const samples: PrometheusSample[] = [];
  const length = text.length;
  let lineStart = 0;
  while (lineStart < length) {
    const lineEnd = lineEndFrom(text, lineStart);
    let position = lineStart;
    while (position < lineEnd && isBlank(text.charCodeAt(position))) position++;
    const newline = text.indexOf('\n', lineEnd);
    lineStart = newline === -1 ? length : newline + 1;
    if (position >= lineEnd || text.charCodeAt(position) === characterCode.hash) continue;
    const nameStart = position;
    while (position < lineEnd) {
      const code = text.charCodeAt(position);
      if (code === characterCode.openBrace || isBlank(code)) break;
      position++;
    }
    if (position === nameStart) continue;
    const sample = parseSampleRest(text, text.slice(nameStart, position), position, lineEnd);
    if (sample) samples.push(sample);
  }
  return samples;
}
