import { LlmdError } from '@llmd/core';

/**
 * An incremental parser for `text/event-stream`: feed it decoded text as it arrives and get the
 * `data` payload of every event completed so far. Only `data` fields matter for OpenAI streams;
 * comments (`: ping`) and other fields are skipped. Memory is bounded: an unterminated line or
 * event larger than `maximumEventCharacters` is an error, not an unbounded buffer.
 */
export class SseParser {
  private partialLine = '';
  private dataLines: string[] = [];
  private dataCharacters = 0;
  /** A `\r` ended the last chunk: a `\n` starting the next one belongs to the same line break. */
  private pendingCarriageReturn = false;

  constructor(private readonly maximumEventCharacters = 16 * 1024 * 1024) {}

  /** Parse `text` and return the payloads of the events it completes. */
  push(text: string): string[] {
    const events: string[] = [];
    let start = 0;
    if (this.pendingCarriageReturn && text.startsWith('\n')) start = 1;
    this.pendingCarriageReturn = false;
    for (let index = start; index < text.length; index++) {
      const character = text.charCodeAt(index);
      if (character !== 10 && character !== 13) continue;
      const line = this.partialLine + text.slice(start, index);
      this.partialLine = '';
      this.handleLine(line, events);
      if (character === 13) {
        if (index + 1 === text.length) this.pendingCarriageReturn = true;
        else if (text.charCodeAt(index + 1) === 10) index++;
      }
      start = index + 1;
    }
    this.partialLine += text.slice(start);
    if (this.partialLine.length > this.maximumEventCharacters) {
      throw new LlmdError(
        'invalid_request',
        `server-sent event line exceeds ${this.maximumEventCharacters} characters`,
      );
    }
    return events;
  }

  /** The payload of an event the stream ended inside (servers should end with a blank line). */
  finish(): string | undefined {
    if (this.partialLine !== '') this.handleLine(this.partialLine, []);
    this.partialLine = '';
    if (this.dataLines.length === 0) return undefined;
    const data = this.dataLines.join('\n');
    this.dataLines = [];
    this.dataCharacters = 0;
    return data;
  }

  private handleLine(line: string, events: string[]): void {
    if (line === '') {
      if (this.dataLines.length > 0) events.push(this.dataLines.join('\n'));
      this.dataLines = [];
      this.dataCharacters = 0;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    if (field !== 'data') return;
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    this.dataCharacters += value.length;
    if (this.dataCharacters > this.maximumEventCharacters) {
      throw new LlmdError(
        'invalid_request',
        `server-sent event exceeds ${this.maximumEventCharacters} characters`,
      );
    }
    this.dataLines.push(value);
  }
}
