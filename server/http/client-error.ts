// Requests Node's parser refuses (a 1 MB URL, malformed headers) still get an HTTP answer, as
// Node gives by default, instead of a bare TCP reset: the client can then tell the user why.
import type { Duplex } from 'node:stream';
import { failureStatus } from '../../common/status.ts';
import { statusLine } from './respond.ts';

/** Node's own mapping (lib/_http_server.js socketOnError): 431 for oversized headers, else 400. */
export function clientErrorCode(err: NodeJS.ErrnoException): number {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 413;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    default:
      return 400;
  }
}

const MESSAGES: Record<number, string> = {
  431: 'the request line or headers are too large (URLs and query strings are limited to 16 KiB)',
  413: 'the request body chunk extensions are too large',
  408: 'the request took too long to arrive',
  400: 'the request is not valid HTTP',
};

/** The server's 'clientError' listener: answer when the socket can still take one, then close. */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // A reset or a socket already answered has nobody to tell.
  const answered = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage
    ?.headersSent;
  if (err.code === 'ECONNRESET' || !socket.writable || answered) {
    socket.destroy();
    return;
  }
  const code = clientErrorCode(err);
  const body = JSON.stringify(failureStatus(code, MESSAGES[code] ?? MESSAGES[400]!));
  socket.end(
    `${statusLine(code)}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
  // Lingering close: keep reading (and dropping) what the client still sends, or closing with unread
  // bytes makes the kernel reset the connection and the client may lose the answer. A peer that
  // never stops sending or reading must not keep the socket.
  socket.on('data', () => {});
  socket.resume();
  socket.once('end', () => socket.destroy());
  setTimeout(() => socket.destroy(), 2000).unref();
}
