/**
 * Requests Node's HTTP parser refuses before Fastify sees them (oversized headers, NUL/CR/LF
 * in a value, timeouts) still get a problem+json answer with a stable code, then the
 * connection is closed. Nothing of the request is logged: it may hold a token.
 */
import type { Socket } from 'node:net';
import { ERRORS, type ErrorCode } from '@latchkey/contract';
import { problemBody } from './problem.js';

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

export function handleClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code: ErrorCode =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? 'HEADERS_TOO_LARGE'
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 'REQUEST_TIMEOUT'
        : 'BAD_REQUEST';
  const { status } = ERRORS[code];
  const body = JSON.stringify(problemBody(code));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
