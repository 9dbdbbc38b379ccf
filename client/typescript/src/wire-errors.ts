/**
 * From the wire to the error classes: the only place that builds a ServerError.
 *
 * - `errorFromFrame`: an `error` frame `{"type": "error", "error": {code, status, message,
 *   details?, retry_after_ms?}}`;
 * - `errorFromProblem`: a REST `application/problem+json` body (and its Retry-After);
 * - `errorFromGateway`: API Gateway's own `{"message": "Internal server error"}` frame
 *   for a crashed route (it has no request_id);
 * - `errorFromHandshake`: a refused WebSocket upgrade (401, 403, ...).
 *
 * A code of the catalogue gets its generated class; an unknown code (a newer service)
 * gets the class of its status's kind, so `instanceof NotFoundError` still holds.
 */

import { ServerError } from "./errors.js";
import { ClientError, ERROR_CLASSES, InternalError, KIND_CLASSES } from "./generated/errors.js";

type ErrorClass = typeof ServerError;

function classFor(code: string, status: number): { cls: ErrorClass; known: boolean } {
  const known = (ERROR_CLASSES as Record<string, ErrorClass>)[code];
  if (known !== undefined && known.status === status) return { cls: known, known: true };
  const kind = KIND_CLASSES.find((k) => k.status === status);
  if (kind !== undefined) return { cls: kind, known: false };
  if (status >= 400 && status < 500) return { cls: ClientError, known: false };
  if (status >= 500) return { cls: InternalError, known: false };
  return { cls: ServerError, known: false };
}

function retryAfterOf(body: Record<string, unknown>): number | null {
  const details = body.details;
  const raw =
    body.retry_after_ms ??
    (details && typeof details === "object" ? (details as Record<string, unknown>).retry_after_ms : undefined);
  const value = Number(raw);
  return raw !== undefined && raw !== null && Number.isFinite(value) && value >= 0 ? value : null;
}

/** The error a service error body describes (a frame's `error`, or a problem). */
export function errorFromBody(body: unknown, fallbackStatus = 500): ServerError {
  const err = body && typeof body === "object" ? (body as Record<string, unknown>) : {};
  let status = Number(err.status ?? fallbackStatus);
  if (!Number.isInteger(status)) status = fallbackStatus;
  const code = typeof err.code === "string" && err.code ? err.code : "internal";
  const message = String(err.message ?? err.detail ?? "");
  const { cls, known } = classFor(code, status);
  return new cls(code, status, message, {
    details: err.details,
    retryAfterMs: retryAfterOf(err),
    retryable: known ? cls.retryable : null,
  });
}

/** The error of an `error` frame. */
export function errorFromFrame(frame: Record<string, unknown>): ServerError {
  return errorFromBody(frame.error);
}

/** API Gateway's own error frame (a route crashed): `{"message": ..., "connectionId"}`. */
export function isGatewayError(frame: Record<string, unknown>): boolean {
  return !("type" in frame) && typeof frame.message === "string";
}

export function errorFromGateway(frame: Record<string, unknown>): ServerError {
  const details: Record<string, unknown> = {};
  for (const key of ["connectionId", "requestId"]) if (key in frame) details[key] = frame[key];
  return new InternalError("internal", 500, String(frame.message), { details });
}

/** The error of a refused WebSocket upgrade. */
export function errorFromHandshake(status: number, message = ""): ServerError {
  const code = ({ 401: "unauthorized", 403: "forbidden", 503: "unavailable" } as Record<number, string>)[status];
  return errorFromBody({
    code: code ?? "refused",
    status,
    message: message || `the WebSocket upgrade was refused with HTTP ${status}`,
  });
}

/** The error of a REST problem+json answer (`Retry-After` seconds count when no body says). */
export function errorFromProblem(status: number, problem: unknown, retryAfter?: string | null): ServerError {
  const body = problem && typeof problem === "object" ? { ...(problem as Record<string, unknown>) } : {};
  body.status ??= status;
  body.message ??= body.detail ?? `HTTP ${status}`;
  if (body.code === undefined) body.code = status >= 500 ? "internal" : "bad_request";
  const seconds = Number(retryAfter);
  if (body.retry_after_ms === undefined && retryAfter && Number.isFinite(seconds)) {
    body.retry_after_ms = seconds * 1000;
  }
  return errorFromBody(body, status);
}
