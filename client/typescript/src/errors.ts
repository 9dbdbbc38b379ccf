/**
 * The one error tree of the client.
 *
 *     LeaderboardError
 *     ├── ConnectionLost        the socket dropped (or never opened) before the reply
 *     ├── RequestTimeout        no reply within the request timeout
 *     └── ServerError           the service answered an error: code, status, message, details
 *         ├── ClientError       4xx: the request was wrong; retrying it unchanged fails again
 *         │   ├── BadRequestError … UnknownBoardError, NotYourPlayerError, …
 *         └── InternalError     5xx: the service's fault; may succeed later
 *             └── UnavailableError …
 *
 * The classes under ServerError are generated (src/generated/errors.ts), one per error
 * code of the service's catalogue, under one per kind. Catch a class (or test
 * `err.code`); never match the message. `retryAfterMs` is set when the service said how
 * long to wait before a retry.
 */

export class LeaderboardError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The connection dropped while a request waited for its reply (or could not be opened).
 * The request may or may not have taken effect: retry it with the same submission id. */
export class ConnectionLost extends LeaderboardError {}

/** No reply within the request timeout: like ConnectionLost, the outcome is unknown. */
export class RequestTimeout extends LeaderboardError {}

/** An error the service answered. `code` is stable, `status` mirrors HTTP. */
export class ServerError extends LeaderboardError {
  /** The code a class stands for (the kind's default code on a kind class). */
  static readonly code: string = "internal";
  /** The status of the class's code or kind. */
  static readonly status: number = 500;
  /** Whether the same request may succeed later (the service's fault, not the caller's). */
  static readonly retryable: boolean = true;

  readonly code: string;
  readonly status: number;
  readonly details: unknown;
  /** Wait at least this long before retrying, when the service said so. */
  readonly retryAfterMs: number | null;
  private readonly retryableOverride: boolean | null;

  constructor(
    code: string,
    status: number,
    message: string,
    options: { details?: unknown; retryAfterMs?: number | null; retryable?: boolean | null } = {},
  ) {
    super(`${code} (${status}): ${message}`);
    this.code = code;
    this.status = status;
    this.details = options.details;
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.retryableOverride = options.retryable ?? null;
  }

  /** Whether the same request may succeed later: the catalogue's answer for a known code;
   * otherwise 5xx (but 410, a gone connection) and 429 are. */
  get retryable(): boolean {
    if (this.retryableOverride !== null) return this.retryableOverride;
    return (this.status >= 500 && this.status !== 410) || this.status === 429;
  }

  /** The message the service sent, without the code and status prefix. */
  get serverMessage(): string {
    return this.message.replace(/^[^(]*\(\d+\): /, "");
  }
}
