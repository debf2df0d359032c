/**
 * A small Server-Sent Events parser (the WHATWG "event stream interpretation"), fed the text of
 * a fetch response as it arrives. Written here rather than taken from a package: it is forty
 * lines, and the maintained parsers no longer run on Node 20.
 */

export interface ServerSentEvent {
  /** `message` when the frame named none. */
  event: string;
  data: string;
  /** The `id:` field of this frame, if it had one. */
  id: string | undefined;
}

export interface SseHandlers {
  onEvent(event: ServerSentEvent): void;
  /** Any line at all arrived (an event, a field, a `:` comment): the connection is alive. */
  onActivity?(): void;
}

/** Returns `push(text)`: call it with each decoded chunk, in order. */
export function createSseParser(handlers: SseHandlers): (chunk: string) => void {
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  let sawCarriageReturn = false;

  const dispatch = () => {
    if (data.length > 0 || event !== '') handlers.onEvent({ event: event || 'message', data: data.join('\n'), id });
    event = '';
    data = [];
    id = undefined;
  };

  const line = (text: string) => {
    handlers.onActivity?.();
    if (text === '') return dispatch();
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id' && !value.includes('\0')) id = value;
    // `retry` and unknown fields: the verifier keeps its own reconnection delay.
  };

  return (chunk) => {
    // A CRLF split across two chunks: the LF completes the line the CR already ended.
    if (sawCarriageReturn && chunk.startsWith('\n')) chunk = chunk.slice(1);
    sawCarriageReturn = false;
    buffer += chunk;
    for (;;) {
      const end = buffer.search(/[\r\n]/);
      if (end === -1) return;
      const terminator = buffer[end];
      if (terminator === '\r' && end === buffer.length - 1) sawCarriageReturn = true;
      const next = terminator === '\r' && buffer[end + 1] === '\n' ? end + 2 : end + 1;
      line(buffer.slice(0, end));
      buffer = buffer.slice(next);
    }
  };
}
