import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { ERROR_TABLE, HokanError, isErrorCode } from "@hokan/core";

/** An RFC 9457 problem document with Hokan's stable code. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly retryable: boolean;
}

/** Fastify's own errors and anything thrown, as a HokanError with the right code. */
export function toHokanError(error: unknown): HokanError {
  if (HokanError.is(error)) return error as HokanError;
  const e = error as { code?: string; statusCode?: number; message?: string };
  const message = e.message ?? String(error);
  switch (e.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new HokanError("payload-too-large", "the request body is over the server's limit");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new HokanError("bad-request", "the body is not valid JSON");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new HokanError("bad-request", "send the body as application/json");
  }
  if (e.statusCode === 404) return new HokanError("not-found", message);
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
    return new HokanError("bad-request", message);
  }
  return new HokanError("server", "internal error", { cause: error });
}

export function toProblem(error: HokanError): Problem {
  const code = isErrorCode(error.code) ? error.code : "server";
  return {
    type: `https://hokan.dev/problems/${code}`,
    title: ERROR_TABLE[code].action,
    status: error.status,
    code,
    detail: error.detail ?? error.message,
    retryable: error.retryable,
  };
}

/**
 * What Node's HTTP server could not hand to a route — a request whose body stalled past the request timeout, headers
 * too large, a request line it cannot parse — answered as a problem document like every other error, then the
 * connection closed (Fastify's default writes its own JSON shape).
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  let status: number;
  let problem: Problem;
  if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") {
    status = 408;
    problem = toProblem(
      new HokanError("timeout", "the request did not arrive within the server's request timeout"),
    );
  } else if (error.code === "HPE_HEADER_OVERFLOW") {
    status = 431;
    problem = toProblem(new HokanError("bad-request", "the request's headers are over the server's limit"));
  } else {
    status = 400;
    problem = toProblem(new HokanError("bad-request", "the server could not read the request"));
  }
  const body = JSON.stringify({ ...problem, status });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
