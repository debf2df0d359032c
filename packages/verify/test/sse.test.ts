/** The Server-Sent Events parser: fields, comments, every line ending, chunks split anywhere. */
import { describe, expect, it } from 'vitest';
import { createSseParser, type ServerSentEvent } from '../src/sse.js';

function parse(chunks: string[]) {
  const events: ServerSentEvent[] = [];
  let activity = 0;
  const push = createSseParser({ onEvent: (event) => events.push(event), onActivity: () => activity++ });
  for (const chunk of chunks) push(chunk);
  return { events, activity };
}

const STREAM =
  'retry: 1000\n\n: keepalive\n\nevent: revoked\nid: 7\ndata: {"kind":"token","id":"t1"}\n\n' +
  'event: ready\nid: 7\ndata: {}\n\ndata: line one\ndata:line two\n\n';
const EXPECTED: ServerSentEvent[] = [
  { event: 'revoked', id: '7', data: '{"kind":"token","id":"t1"}' },
  { event: 'ready', id: '7', data: '{}' },
  { event: 'message', id: undefined, data: 'line one\nline two' },
];

describe('createSseParser', () => {
  it('parses events, skips comments and retry, and reports activity for a comment alone', () => {
    expect(parse([STREAM]).events).toEqual(EXPECTED);
    expect(parse([': keepalive\n\n']).activity).toBe(2);
  });

  it('gives the same events however the text is split, with LF, CRLF or CR line endings', () => {
    for (const ending of ['\n', '\r\n', '\r']) {
      const text = STREAM.replaceAll('\n', ending);
      for (let size = 1; size <= 7; size++) {
        const chunks: string[] = [];
        for (let at = 0; at < text.length; at += size) chunks.push(text.slice(at, at + size));
        expect(parse(chunks).events, `${JSON.stringify(ending)} in chunks of ${size}`).toEqual(EXPECTED);
      }
    }
  });

  it('dispatches nothing for an unfinished event', () => {
    expect(parse(['event: revoked\ndata: {}\n']).events).toEqual([]);
  });
});
