// @leaderboard/client 0.2.0 (src/index.ts), bundled by client/typescript/scripts/bundle.mjs: do not edit.
// Rebuild with `npm run bundle` in client/typescript; a test fails when it drifts.
var __defProp = Object.defineProperty;
var __defNormalProp = (obj, key, value) => key in obj ? __defProp(obj, key, { enumerable: true, configurable: true, writable: true, value }) : obj[key] = value;
var __publicField = (obj, key, value) => __defNormalProp(obj, typeof key !== "symbol" ? key + "" : key, value);

// src/errors.ts
var LeaderboardError = class extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
};
var ConnectionLost = class extends LeaderboardError {
};
var RequestTimeout = class extends LeaderboardError {
};
var ServerError = class extends LeaderboardError {
  constructor(code, status, message, options = {}) {
    super(`${code} (${status}): ${message}`);
    __publicField(this, "code");
    __publicField(this, "status");
    __publicField(this, "details");
    /** Wait at least this long before retrying, when the service said so. */
    __publicField(this, "retryAfterMs");
    __publicField(this, "retryableOverride");
    this.code = code;
    this.status = status;
    this.details = options.details;
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.retryableOverride = options.retryable ?? null;
  }
  /** Whether the same request may succeed later: the catalogue's answer for a known code;
   * otherwise 5xx (but 410, a gone connection) and 429 are. */
  get retryable() {
    if (this.retryableOverride !== null) return this.retryableOverride;
    return this.status >= 500 && this.status !== 410 || this.status === 429;
  }
  /** The message the service sent, without the code and status prefix. */
  get serverMessage() {
    return this.message.replace(/^[^(]*\(\d+\): /, "");
  }
};
/** The code a class stands for (the kind's default code on a kind class). */
__publicField(ServerError, "code", "internal");
/** The status of the class's code or kind. */
__publicField(ServerError, "status", 500);
/** Whether the same request may succeed later (the service's fault, not the caller's). */
__publicField(ServerError, "retryable", true);

// src/generated/errors.ts
var ClientError = class extends ServerError {
};
__publicField(ClientError, "status", 400);
var BadRequestError = class extends ClientError {
};
__publicField(BadRequestError, "status", 400);
__publicField(BadRequestError, "code", "bad_request");
__publicField(BadRequestError, "retryable", false);
var ConflictError = class extends ClientError {
};
__publicField(ConflictError, "status", 409);
__publicField(ConflictError, "code", "conflict");
__publicField(ConflictError, "retryable", false);
var InternalError = class extends ServerError {
};
__publicField(InternalError, "status", 500);
__publicField(InternalError, "code", "internal");
__publicField(InternalError, "retryable", true);
var ConnectionGoneError = class extends InternalError {
};
__publicField(ConnectionGoneError, "status", 410);
__publicField(ConnectionGoneError, "code", "gone");
__publicField(ConnectionGoneError, "retryable", false);
var ForbiddenError = class extends ClientError {
};
__publicField(ForbiddenError, "status", 403);
__publicField(ForbiddenError, "code", "forbidden");
__publicField(ForbiddenError, "retryable", false);
var MethodNotAllowedError = class extends ClientError {
};
__publicField(MethodNotAllowedError, "status", 405);
__publicField(MethodNotAllowedError, "code", "method_not_allowed");
__publicField(MethodNotAllowedError, "retryable", false);
var NotFoundError = class extends ClientError {
};
__publicField(NotFoundError, "status", 404);
__publicField(NotFoundError, "code", "not_found");
__publicField(NotFoundError, "retryable", false);
var UnavailableError = class extends InternalError {
};
__publicField(UnavailableError, "status", 503);
__publicField(UnavailableError, "code", "unavailable");
__publicField(UnavailableError, "retryable", true);
var OverloadedError = class extends UnavailableError {
};
__publicField(OverloadedError, "status", 503);
__publicField(OverloadedError, "code", "overloaded");
__publicField(OverloadedError, "retryable", true);
var PayloadTooLargeError = class extends BadRequestError {
};
__publicField(PayloadTooLargeError, "status", 413);
__publicField(PayloadTooLargeError, "code", "too_large");
__publicField(PayloadTooLargeError, "retryable", false);
var RateLimitedError = class extends ClientError {
};
__publicField(RateLimitedError, "status", 429);
__publicField(RateLimitedError, "code", "rate_limited");
__publicField(RateLimitedError, "retryable", true);
var UnauthorizedError = class extends ClientError {
};
__publicField(UnauthorizedError, "status", 401);
__publicField(UnauthorizedError, "code", "unauthorized");
__publicField(UnauthorizedError, "retryable", false);
var InvalidJsonError = class extends BadRequestError {
};
__publicField(InvalidJsonError, "code", "invalid_json");
__publicField(InvalidJsonError, "status", 400);
__publicField(InvalidJsonError, "retryable", false);
var BinaryFrameError = class extends BadRequestError {
};
__publicField(BinaryFrameError, "code", "binary_frame");
__publicField(BinaryFrameError, "status", 400);
__publicField(BinaryFrameError, "retryable", false);
var InvalidNumberError = class extends BadRequestError {
};
__publicField(InvalidNumberError, "code", "invalid_number");
__publicField(InvalidNumberError, "status", 400);
__publicField(InvalidNumberError, "retryable", false);
var NotAnObjectError = class extends BadRequestError {
};
__publicField(NotAnObjectError, "code", "not_an_object");
__publicField(NotAnObjectError, "status", 400);
__publicField(NotAnObjectError, "retryable", false);
var MissingActionError = class extends BadRequestError {
};
__publicField(MissingActionError, "code", "missing_action");
__publicField(MissingActionError, "status", 400);
__publicField(MissingActionError, "retryable", false);
var UnknownActionError = class extends BadRequestError {
};
__publicField(UnknownActionError, "code", "unknown_action");
__publicField(UnknownActionError, "status", 400);
__publicField(UnknownActionError, "retryable", false);
var InvalidMessageError = class extends BadRequestError {
};
__publicField(InvalidMessageError, "code", "invalid_message");
__publicField(InvalidMessageError, "status", 400);
__publicField(InvalidMessageError, "retryable", false);
var WrongRouteError = class extends BadRequestError {
};
__publicField(WrongRouteError, "code", "wrong_route");
__publicField(WrongRouteError, "status", 400);
__publicField(WrongRouteError, "retryable", false);
var BadEventError = class extends BadRequestError {
};
__publicField(BadEventError, "code", "bad_event");
__publicField(BadEventError, "status", 400);
__publicField(BadEventError, "retryable", false);
var InvalidBoardIdError = class extends BadRequestError {
};
__publicField(InvalidBoardIdError, "code", "invalid_board_id");
__publicField(InvalidBoardIdError, "status", 400);
__publicField(InvalidBoardIdError, "retryable", false);
var InvalidPlayerIdError = class extends BadRequestError {
};
__publicField(InvalidPlayerIdError, "code", "invalid_player_id");
__publicField(InvalidPlayerIdError, "status", 400);
__publicField(InvalidPlayerIdError, "retryable", false);
var InvalidSeasonIdError = class extends BadRequestError {
};
__publicField(InvalidSeasonIdError, "code", "invalid_season_id");
__publicField(InvalidSeasonIdError, "status", 400);
__publicField(InvalidSeasonIdError, "retryable", false);
var ReservedSeasonError = class extends BadRequestError {
};
__publicField(ReservedSeasonError, "code", "reserved_season");
__publicField(ReservedSeasonError, "status", 400);
__publicField(ReservedSeasonError, "retryable", false);
var InvalidSubmissionIdError = class extends BadRequestError {
};
__publicField(InvalidSubmissionIdError, "code", "invalid_submission_id");
__publicField(InvalidSubmissionIdError, "status", 400);
__publicField(InvalidSubmissionIdError, "retryable", false);
var InvalidScoreError = class extends BadRequestError {
};
__publicField(InvalidScoreError, "code", "invalid_score");
__publicField(InvalidScoreError, "status", 400);
__publicField(InvalidScoreError, "retryable", false);
var ScoreOutOfRangeError = class extends BadRequestError {
};
__publicField(ScoreOutOfRangeError, "code", "score_out_of_range");
__publicField(ScoreOutOfRangeError, "status", 400);
__publicField(ScoreOutOfRangeError, "retryable", false);
var ScoreOverflowError = class extends BadRequestError {
};
__publicField(ScoreOverflowError, "code", "score_overflow");
__publicField(ScoreOverflowError, "status", 400);
__publicField(ScoreOverflowError, "retryable", false);
var InvalidMetadataError = class extends BadRequestError {
};
__publicField(InvalidMetadataError, "code", "invalid_metadata");
__publicField(InvalidMetadataError, "status", 400);
__publicField(InvalidMetadataError, "retryable", false);
var InvalidValueError = class extends BadRequestError {
};
__publicField(InvalidValueError, "code", "invalid_value");
__publicField(InvalidValueError, "status", 400);
__publicField(InvalidValueError, "retryable", false);
var EmptyBatchError = class extends BadRequestError {
};
__publicField(EmptyBatchError, "code", "empty_batch");
__publicField(EmptyBatchError, "status", 400);
__publicField(EmptyBatchError, "retryable", false);
var DuplicatePlayerError = class extends BadRequestError {
};
__publicField(DuplicatePlayerError, "code", "duplicate_player");
__publicField(DuplicatePlayerError, "status", 400);
__publicField(DuplicatePlayerError, "retryable", false);
var MissingPlayerError = class extends BadRequestError {
};
__publicField(MissingPlayerError, "code", "missing_player");
__publicField(MissingPlayerError, "status", 400);
__publicField(MissingPlayerError, "retryable", false);
var ViewTooLargeError = class extends BadRequestError {
};
__publicField(ViewTooLargeError, "code", "view_too_large");
__publicField(ViewTooLargeError, "status", 400);
__publicField(ViewTooLargeError, "retryable", false);
var UnknownViewError = class extends BadRequestError {
};
__publicField(UnknownViewError, "code", "unknown_view");
__publicField(UnknownViewError, "status", 400);
__publicField(UnknownViewError, "retryable", false);
var InvalidLimitError = class extends BadRequestError {
};
__publicField(InvalidLimitError, "code", "invalid_limit");
__publicField(InvalidLimitError, "status", 400);
__publicField(InvalidLimitError, "retryable", false);
var InvalidWindowError = class extends BadRequestError {
};
__publicField(InvalidWindowError, "code", "invalid_window");
__publicField(InvalidWindowError, "status", 400);
__publicField(InvalidWindowError, "retryable", false);
var InvalidPlayersError = class extends BadRequestError {
};
__publicField(InvalidPlayersError, "code", "invalid_players");
__publicField(InvalidPlayersError, "status", 400);
__publicField(InvalidPlayersError, "retryable", false);
var InvalidRequestError = class extends BadRequestError {
};
__publicField(InvalidRequestError, "code", "invalid_request");
__publicField(InvalidRequestError, "status", 400);
__publicField(InvalidRequestError, "retryable", false);
var MissingBodyError = class extends BadRequestError {
};
__publicField(MissingBodyError, "code", "missing_body");
__publicField(MissingBodyError, "status", 400);
__publicField(MissingBodyError, "retryable", false);
var InvalidBoundsError = class extends BadRequestError {
};
__publicField(InvalidBoundsError, "code", "invalid_bounds");
__publicField(InvalidBoundsError, "status", 400);
__publicField(InvalidBoundsError, "retryable", false);
var InvalidCursorError = class extends BadRequestError {
};
__publicField(InvalidCursorError, "code", "invalid_cursor");
__publicField(InvalidCursorError, "status", 400);
__publicField(InvalidCursorError, "retryable", false);
var CursorMismatchError = class extends BadRequestError {
};
__publicField(CursorMismatchError, "code", "cursor_mismatch");
__publicField(CursorMismatchError, "status", 400);
__publicField(CursorMismatchError, "retryable", false);
var MessageTooLargeError = class extends PayloadTooLargeError {
};
__publicField(MessageTooLargeError, "code", "message_too_large");
__publicField(MessageTooLargeError, "status", 413);
__publicField(MessageTooLargeError, "retryable", false);
var MetadataTooLargeError = class extends PayloadTooLargeError {
};
__publicField(MetadataTooLargeError, "code", "metadata_too_large");
__publicField(MetadataTooLargeError, "status", 413);
__publicField(MetadataTooLargeError, "retryable", false);
var BatchTooLargeError = class extends PayloadTooLargeError {
};
__publicField(BatchTooLargeError, "code", "batch_too_large");
__publicField(BatchTooLargeError, "status", 413);
__publicField(BatchTooLargeError, "retryable", false);
var BodyTooLargeError = class extends PayloadTooLargeError {
};
__publicField(BodyTooLargeError, "code", "body_too_large");
__publicField(BodyTooLargeError, "status", 413);
__publicField(BodyTooLargeError, "retryable", false);
var MissingTokenError = class extends UnauthorizedError {
};
__publicField(MissingTokenError, "code", "missing_token");
__publicField(MissingTokenError, "status", 401);
__publicField(MissingTokenError, "retryable", false);
var MalformedTokenError = class extends UnauthorizedError {
};
__publicField(MalformedTokenError, "code", "malformed_token");
__publicField(MalformedTokenError, "status", 401);
__publicField(MalformedTokenError, "retryable", false);
var BadAlgorithmError = class extends UnauthorizedError {
};
__publicField(BadAlgorithmError, "code", "bad_algorithm");
__publicField(BadAlgorithmError, "status", 401);
__publicField(BadAlgorithmError, "retryable", false);
var UnknownKeyError = class extends UnauthorizedError {
};
__publicField(UnknownKeyError, "code", "unknown_key");
__publicField(UnknownKeyError, "status", 401);
__publicField(UnknownKeyError, "retryable", false);
var InvalidClaimsError = class extends UnauthorizedError {
};
__publicField(InvalidClaimsError, "code", "invalid_claims");
__publicField(InvalidClaimsError, "status", 401);
__publicField(InvalidClaimsError, "retryable", false);
var MissingClaimError = class extends UnauthorizedError {
};
__publicField(MissingClaimError, "code", "missing_claim");
__publicField(MissingClaimError, "status", 401);
__publicField(MissingClaimError, "retryable", false);
var MissingAuthorizerContextError = class extends UnauthorizedError {
};
__publicField(MissingAuthorizerContextError, "code", "missing_authorizer_context");
__publicField(MissingAuthorizerContextError, "status", 401);
__publicField(MissingAuthorizerContextError, "retryable", false);
var BadAuthorizerContextError = class extends UnauthorizedError {
};
__publicField(BadAuthorizerContextError, "code", "bad_authorizer_context");
__publicField(BadAuthorizerContextError, "status", 401);
__publicField(BadAuthorizerContextError, "retryable", false);
var BadMethodArnError = class extends UnauthorizedError {
};
__publicField(BadMethodArnError, "code", "bad_method_arn");
__publicField(BadMethodArnError, "status", 401);
__publicField(BadMethodArnError, "retryable", false);
var AccessDeniedError = class extends ForbiddenError {
};
__publicField(AccessDeniedError, "code", "access_denied");
__publicField(AccessDeniedError, "status", 403);
__publicField(AccessDeniedError, "retryable", false);
var MissingRoleError = class extends ForbiddenError {
};
__publicField(MissingRoleError, "code", "missing_role");
__publicField(MissingRoleError, "status", 403);
__publicField(MissingRoleError, "retryable", false);
var UnknownRoleError = class extends ForbiddenError {
};
__publicField(UnknownRoleError, "code", "unknown_role");
__publicField(UnknownRoleError, "status", 403);
__publicField(UnknownRoleError, "retryable", false);
var AmbiguousRoleError = class extends ForbiddenError {
};
__publicField(AmbiguousRoleError, "code", "ambiguous_role");
__publicField(AmbiguousRoleError, "status", 403);
__publicField(AmbiguousRoleError, "retryable", false);
var RoleNotAllowedError = class extends ForbiddenError {
};
__publicField(RoleNotAllowedError, "code", "role_not_allowed");
__publicField(RoleNotAllowedError, "status", 403);
__publicField(RoleNotAllowedError, "retryable", false);
var NotYourPlayerError = class extends ForbiddenError {
};
__publicField(NotYourPlayerError, "code", "not_your_player");
__publicField(NotYourPlayerError, "status", 403);
__publicField(NotYourPlayerError, "retryable", false);
var BatchNotAllowedError = class extends ForbiddenError {
};
__publicField(BatchNotAllowedError, "code", "batch_not_allowed");
__publicField(BatchNotAllowedError, "status", 403);
__publicField(BatchNotAllowedError, "retryable", false);
var PlayerBannedError = class extends ForbiddenError {
};
__publicField(PlayerBannedError, "code", "player_banned");
__publicField(PlayerBannedError, "status", 403);
__publicField(PlayerBannedError, "retryable", false);
var UnknownBoardError = class extends NotFoundError {
};
__publicField(UnknownBoardError, "code", "unknown_board");
__publicField(UnknownBoardError, "status", 404);
__publicField(UnknownBoardError, "retryable", false);
var UnknownSeasonError = class extends NotFoundError {
};
__publicField(UnknownSeasonError, "code", "unknown_season");
__publicField(UnknownSeasonError, "status", 404);
__publicField(UnknownSeasonError, "retryable", false);
var UnknownPlayerError = class extends NotFoundError {
};
__publicField(UnknownPlayerError, "code", "unknown_player");
__publicField(UnknownPlayerError, "status", 404);
__publicField(UnknownPlayerError, "retryable", false);
var UnknownConnectionError = class extends NotFoundError {
};
__publicField(UnknownConnectionError, "code", "unknown_connection");
__publicField(UnknownConnectionError, "status", 404);
__publicField(UnknownConnectionError, "retryable", false);
var UnknownRouteError = class extends NotFoundError {
};
__publicField(UnknownRouteError, "code", "unknown_route");
__publicField(UnknownRouteError, "status", 404);
__publicField(UnknownRouteError, "retryable", false);
var BoardExistsError = class extends ConflictError {
};
__publicField(BoardExistsError, "code", "board_exists");
__publicField(BoardExistsError, "status", 409);
__publicField(BoardExistsError, "retryable", false);
var SeasonExistsError = class extends ConflictError {
};
__publicField(SeasonExistsError, "code", "season_exists");
__publicField(SeasonExistsError, "status", 409);
__publicField(SeasonExistsError, "retryable", false);
var SubmissionConflictError = class extends ConflictError {
};
__publicField(SubmissionConflictError, "code", "submission_conflict");
__publicField(SubmissionConflictError, "status", 409);
__publicField(SubmissionConflictError, "retryable", false);
var AuthorizerFailureError = class extends InternalError {
};
__publicField(AuthorizerFailureError, "code", "authorizer_failure");
__publicField(AuthorizerFailureError, "status", 500);
__publicField(AuthorizerFailureError, "retryable", true);
var MisconfiguredError = class extends InternalError {
};
__publicField(MisconfiguredError, "code", "misconfigured");
__publicField(MisconfiguredError, "status", 500);
__publicField(MisconfiguredError, "retryable", true);
var DatabaseUnreachableError = class extends UnavailableError {
};
__publicField(DatabaseUnreachableError, "code", "database_unreachable");
__publicField(DatabaseUnreachableError, "status", 503);
__publicField(DatabaseUnreachableError, "retryable", true);
var DatabaseErrorError = class extends UnavailableError {
};
__publicField(DatabaseErrorError, "code", "database_error");
__publicField(DatabaseErrorError, "status", 503);
__publicField(DatabaseErrorError, "retryable", true);
var DatabaseTimeoutError = class extends UnavailableError {
};
__publicField(DatabaseTimeoutError, "code", "database_timeout");
__publicField(DatabaseTimeoutError, "status", 503);
__publicField(DatabaseTimeoutError, "retryable", true);
var JwksUnavailableError = class extends UnavailableError {
};
__publicField(JwksUnavailableError, "code", "jwks_unavailable");
__publicField(JwksUnavailableError, "status", 503);
__publicField(JwksUnavailableError, "retryable", true);
var SecretUnavailableError = class extends UnavailableError {
};
__publicField(SecretUnavailableError, "code", "secret_unavailable");
__publicField(SecretUnavailableError, "status", 503);
__publicField(SecretUnavailableError, "retryable", true);
var ERROR_CLASSES = {
  bad_request: BadRequestError,
  invalid_json: InvalidJsonError,
  binary_frame: BinaryFrameError,
  invalid_number: InvalidNumberError,
  not_an_object: NotAnObjectError,
  missing_action: MissingActionError,
  unknown_action: UnknownActionError,
  invalid_message: InvalidMessageError,
  wrong_route: WrongRouteError,
  bad_event: BadEventError,
  invalid_board_id: InvalidBoardIdError,
  invalid_player_id: InvalidPlayerIdError,
  invalid_season_id: InvalidSeasonIdError,
  reserved_season: ReservedSeasonError,
  invalid_submission_id: InvalidSubmissionIdError,
  invalid_score: InvalidScoreError,
  score_out_of_range: ScoreOutOfRangeError,
  score_overflow: ScoreOverflowError,
  invalid_metadata: InvalidMetadataError,
  invalid_value: InvalidValueError,
  empty_batch: EmptyBatchError,
  duplicate_player: DuplicatePlayerError,
  missing_player: MissingPlayerError,
  view_too_large: ViewTooLargeError,
  unknown_view: UnknownViewError,
  invalid_limit: InvalidLimitError,
  invalid_window: InvalidWindowError,
  invalid_players: InvalidPlayersError,
  invalid_request: InvalidRequestError,
  missing_body: MissingBodyError,
  invalid_bounds: InvalidBoundsError,
  invalid_cursor: InvalidCursorError,
  cursor_mismatch: CursorMismatchError,
  too_large: PayloadTooLargeError,
  message_too_large: MessageTooLargeError,
  metadata_too_large: MetadataTooLargeError,
  batch_too_large: BatchTooLargeError,
  body_too_large: BodyTooLargeError,
  unauthorized: UnauthorizedError,
  missing_token: MissingTokenError,
  malformed_token: MalformedTokenError,
  bad_algorithm: BadAlgorithmError,
  unknown_key: UnknownKeyError,
  invalid_claims: InvalidClaimsError,
  missing_claim: MissingClaimError,
  missing_authorizer_context: MissingAuthorizerContextError,
  bad_authorizer_context: BadAuthorizerContextError,
  bad_method_arn: BadMethodArnError,
  forbidden: ForbiddenError,
  access_denied: AccessDeniedError,
  missing_role: MissingRoleError,
  unknown_role: UnknownRoleError,
  ambiguous_role: AmbiguousRoleError,
  role_not_allowed: RoleNotAllowedError,
  not_your_player: NotYourPlayerError,
  batch_not_allowed: BatchNotAllowedError,
  player_banned: PlayerBannedError,
  not_found: NotFoundError,
  unknown_board: UnknownBoardError,
  unknown_season: UnknownSeasonError,
  unknown_player: UnknownPlayerError,
  unknown_connection: UnknownConnectionError,
  unknown_route: UnknownRouteError,
  method_not_allowed: MethodNotAllowedError,
  conflict: ConflictError,
  board_exists: BoardExistsError,
  season_exists: SeasonExistsError,
  submission_conflict: SubmissionConflictError,
  rate_limited: RateLimitedError,
  internal: InternalError,
  authorizer_failure: AuthorizerFailureError,
  misconfigured: MisconfiguredError,
  unavailable: UnavailableError,
  database_unreachable: DatabaseUnreachableError,
  database_error: DatabaseErrorError,
  database_timeout: DatabaseTimeoutError,
  overloaded: OverloadedError,
  jwks_unavailable: JwksUnavailableError,
  secret_unavailable: SecretUnavailableError,
  gone: ConnectionGoneError
};
var KIND_CLASSES = [
  UnauthorizedError,
  RateLimitedError,
  PayloadTooLargeError,
  OverloadedError,
  UnavailableError,
  NotFoundError,
  MethodNotAllowedError,
  ForbiddenError,
  ConnectionGoneError,
  InternalError,
  ConflictError,
  BadRequestError,
  ClientError
];

// src/submissions.ts
var MAX_FRAME_BYTES = 32768;
var MAX_BATCH = 1e3;
var MAX_SUBMISSION_ID = 128;
var MAX_REQUEST_ID = 64;
var encoder = new TextEncoder();
function byteLength(text) {
  return encoder.encode(text).length;
}
function newSubmissionId() {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
var Ack = class _Ack {
  constructor(board, submissionId, results) {
    __publicField(this, "board", board);
    __publicField(this, "submissionId", submissionId);
    __publicField(this, "results", results);
  }
  static of(frame) {
    const results = (frame.results ?? []).map((r) => ({
      player: r.player,
      score: r.score,
      rank: r.rank,
      total: r.total,
      improved: Boolean(r.improved),
      replayed: Boolean(r.replayed),
      ...r.percentile != null ? { percentile: r.percentile } : {}
    }));
    return new _Ack(frame.board, frame.submission_id ?? null, results);
  }
  /** True when this answers a retry of a submission the service already applied. */
  get replayed() {
    return this.results.length > 0 && this.results.every((r) => r.replayed);
  }
  /** The one result of a single-score submit. */
  get result() {
    if (this.results.length !== 1) {
      throw new RangeError(`expected one result, got ${this.results.length}: use .results`);
    }
    return this.results[0];
  }
};
var BatchAck = class extends Ack {
  constructor(board, submissionId, parts) {
    super(board, submissionId, parts.flatMap((p) => p.results));
    __publicField(this, "parts", parts);
  }
};
function submitMessage(board, score, submissionId, fields = {}) {
  const message = { action: "submit", board, score, submission_id: submissionId };
  if (fields.player !== void 0) message.player = fields.player;
  if (fields.metadata !== void 0) message.metadata = fields.metadata;
  return message;
}
function wireBytes(message) {
  return byteLength(JSON.stringify({ ...message, request_id: "r".repeat(MAX_REQUEST_ID) }));
}
function assertFits(message, maxFrameBytes) {
  const size = wireBytes(message);
  if (size > maxFrameBytes) {
    throw new MessageTooLargeError(
      "message_too_large",
      413,
      `a submit of ${size} bytes does not fit a ${maxFrameBytes}-byte frame (smaller metadata?)`
    );
  }
}
function fnv1a(text) {
  let hash = 2166136261;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 16777619) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}
function partId(id, index, count) {
  if (count === 1) return id;
  const suffix = `.${index}of${count}`;
  if (id.length + suffix.length <= MAX_SUBMISSION_ID) return id + suffix;
  const keep = MAX_SUBMISSION_ID - suffix.length - 9;
  return `${id.slice(0, keep)}-${fnv1a(id)}${suffix}`;
}
function batchMessages(board, scores, submissionId, limits = {}) {
  const maxFrameBytes = limits.maxFrameBytes ?? MAX_FRAME_BYTES;
  const maxBatch = limits.maxBatch ?? MAX_BATCH;
  if (scores.length === 0) throw new RangeError("a batch needs at least one score");
  const items = scores.map((s) => {
    const item = { player: s.player, score: s.score };
    if (s.metadata !== void 0 && s.metadata !== null) item.metadata = s.metadata;
    return item;
  });
  const longestId = "x".repeat(Math.max(submissionId.length, Math.min(MAX_SUBMISSION_ID, submissionId.length + 16)));
  const envelope = wireBytes({ action: "submit", board, submission_id: longestId, scores: [] });
  const groups = [];
  let group = [];
  let size = envelope;
  for (const item of items) {
    const itemBytes = byteLength(JSON.stringify(item)) + (group.length ? 1 : 0);
    if (group.length && (size + itemBytes > maxFrameBytes || group.length >= maxBatch)) {
      groups.push(group);
      group = [];
      size = envelope;
    }
    const first = byteLength(JSON.stringify(item));
    if (envelope + first > maxFrameBytes) {
      throw new MessageTooLargeError(
        "message_too_large",
        413,
        `the score of ${item.player} alone takes ${envelope + first} bytes, over a ${maxFrameBytes}-byte frame`
      );
    }
    size += group.length ? itemBytes : first;
    group.push(item);
  }
  groups.push(group);
  return groups.map((part, i) => ({
    action: "submit",
    board,
    submission_id: partId(submissionId, i + 1, groups.length),
    scores: part
  }));
}

// src/wire-errors.ts
function classFor(code, status) {
  const known = ERROR_CLASSES[code];
  if (known !== void 0 && known.status === status) return { cls: known, known: true };
  const kind = KIND_CLASSES.find((k) => k.status === status);
  if (kind !== void 0) return { cls: kind, known: false };
  if (status >= 400 && status < 500) return { cls: ClientError, known: false };
  if (status >= 500) return { cls: InternalError, known: false };
  return { cls: ServerError, known: false };
}
function retryAfterOf(body) {
  const details = body.details;
  const raw = body.retry_after_ms ?? (details && typeof details === "object" ? details.retry_after_ms : void 0);
  const value = Number(raw);
  return raw !== void 0 && raw !== null && Number.isFinite(value) && value >= 0 ? value : null;
}
function errorFromBody(body, fallbackStatus = 500) {
  const err = body && typeof body === "object" ? body : {};
  let status = Number(err.status ?? fallbackStatus);
  if (!Number.isInteger(status)) status = fallbackStatus;
  const code = typeof err.code === "string" && err.code ? err.code : "internal";
  const message = String(err.message ?? err.detail ?? "");
  const { cls, known } = classFor(code, status);
  return new cls(code, status, message, {
    details: err.details,
    retryAfterMs: retryAfterOf(err),
    retryable: known ? cls.retryable : null
  });
}
function errorFromFrame(frame) {
  return errorFromBody(frame.error);
}
function isGatewayError(frame) {
  return !("type" in frame) && typeof frame.message === "string";
}
function errorFromGateway(frame) {
  const details = {};
  for (const key of ["connectionId", "requestId"]) if (key in frame) details[key] = frame[key];
  return new InternalError("internal", 500, String(frame.message), { details });
}
function errorFromHandshake(status, message = "") {
  const code = { 401: "unauthorized", 403: "forbidden", 503: "unavailable" }[status];
  return errorFromBody({
    code: code ?? "refused",
    status,
    message: message || `the WebSocket upgrade was refused with HTTP ${status}`
  });
}
function errorFromProblem(status, problem, retryAfter) {
  const body = problem && typeof problem === "object" ? { ...problem } : {};
  body.status ?? (body.status = status);
  body.message ?? (body.message = body.detail ?? `HTTP ${status}`);
  if (body.code === void 0) body.code = status >= 500 ? "internal" : "bad_request";
  const seconds = Number(retryAfter);
  if (body.retry_after_ms === void 0 && retryAfter && Number.isFinite(seconds)) {
    body.retry_after_ms = seconds * 1e3;
  }
  return errorFromBody(body, status);
}

// src/socket.ts
var OPEN = 1;
var loaded = null;
function webSocketClass(given) {
  if (given !== void 0) return Promise.resolve(given);
  const global = globalThis.WebSocket;
  if (typeof global === "function") return Promise.resolve(global);
  loaded ?? (loaded = (async () => {
    const name = "ws";
    try {
      const mod = await import(name);
      const cls = mod.WebSocket ?? mod.default;
      if (typeof cls !== "function") throw new Error("the ws module has no WebSocket class");
      return cls;
    } catch (error) {
      loaded = null;
      throw new Error(
        `this runtime has no global WebSocket: install the \`ws\` package (npm i ws), or run Node 22+ or Node 20 with --experimental-websocket (${String(error)})`
      );
    }
  })());
  return loaded;
}
function textOf(data) {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(data);
  if (ArrayBuffer.isView(data)) return new TextDecoder().decode(data);
  return null;
}
function dialError(event, closeCode) {
  const message = String(event?.message ?? "");
  const status = /Unexpected server response: (\d{3})/.exec(message);
  if (status) return errorFromHandshake(Number(status[1]));
  return new ConnectionLost(
    `could not connect${message ? `: ${message}` : ""}${closeCode ? ` (close ${closeCode})` : ""}`
  );
}
function openSocket(cls, url, timeoutMs) {
  return new Promise((resolve, reject) => {
    let socket;
    try {
      socket = new cls(url);
    } catch (error) {
      reject(new ConnectionLost(`could not connect: ${String(error)}`));
      return;
    }
    const timer = setTimeout(() => {
      settle(new ConnectionLost(`could not connect within ${timeoutMs} ms`));
      try {
        socket.close();
      } catch {
      }
    }, timeoutMs);
    const settle = (result) => {
      clearTimeout(timer);
      socket.onopen = socket.onerror = socket.onclose = null;
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    socket.onopen = () => settle(socket);
    socket.onerror = (event) => {
      settle(dialError(event));
      try {
        socket.close();
      } catch {
      }
    };
    socket.onclose = (event) => settle(dialError(null, event.code));
  });
}

// src/tracking.ts
var APPLIED = "applied";
var STALE = "stale";
var GAP = "gap";
function entryOf(e) {
  const entry = {
    player: e.player,
    score: e.score,
    rank: e.rank,
    display_rank: e.display_rank ?? e.rank,
    percentile: e.percentile ?? 0
  };
  if (e.tier != null) entry.tier = e.tier;
  return entry;
}
function entriesOf(raw) {
  return (raw ?? []).map(entryOf);
}
var ViewTracker = class {
  constructor(viewId = "") {
    __publicField(this, "viewId", viewId);
    __publicField(this, "state", null);
    __publicField(this, "needsResync", false);
  }
  /** The seq of the state, -1 before any. */
  get seq() {
    return this.state === null ? -1 : this.state.seq;
  }
  /** Rule 5: the connection dropped; the next snapshot is a resync. */
  lostConnection() {
    this.needsResync = true;
  }
  /** Apply one snapshot or update frame. */
  apply(frame) {
    const seq = Number(frame.seq);
    if (frame.type === "update") {
      if (this.state !== null && seq <= this.state.seq) return STALE;
      if (this.state === null || Number(frame.prev_seq) !== this.state.seq) {
        this.needsResync = true;
        return GAP;
      }
    } else if (this.state !== null && seq < this.state.seq) {
      return STALE;
    }
    const me = frame.me ? entryOf(frame.me) : null;
    const nextResetAt = frame.type === "snapshot" ? frame.next_reset_at ?? null : this.state?.nextResetAt ?? null;
    this.state = {
      viewId: frame.view_id || this.viewId,
      board: frame.board ?? "",
      season: frame.season ?? "",
      view: frame.view ?? "",
      seq,
      total: Number(frame.total ?? 0),
      entries: entriesOf(frame.entries),
      me,
      resynced: frame.type === "snapshot" && this.needsResync,
      nextResetAt
    };
    if (frame.type === "snapshot") this.needsResync = false;
    return APPLIED;
  }
};

// src/client.ts
var sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
var Subscription = class {
  /** @internal */
  constructor(client, view, maxPending) {
    __publicField(this, "client", client);
    __publicField(this, "view", view);
    __publicField(this, "maxPending", maxPending);
    __publicField(this, "queue", []);
    __publicField(this, "stateListeners", /* @__PURE__ */ new Set());
    __publicField(this, "errorListeners", /* @__PURE__ */ new Set());
    __publicField(this, "wake", null);
    __publicField(this, "failure", null);
    __publicField(this, "ended", false);
    /** @internal */
    __publicField(this, "joinListeners", /* @__PURE__ */ new Set());
  }
  /** The server's id of the view (known once a snapshot arrived). */
  get viewId() {
    return this.view.viewId;
  }
  /** The newest state of the view, whether consumed yet or not. */
  get state() {
    return this.view.tracker.state;
  }
  /** Whether the view's snapshot arrived on the current connection. */
  get joined() {
    return this.view.joined;
  }
  /** Call `listener` with every new state; returns a function that removes it. */
  onState(listener) {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }
  /** Call `listener` when the service refuses the view (e.g. `unknown_player` for an
   * `around` view before the player's first score); the view waits for `resync()` or the
   * next reconnect. Returns a function that removes it. */
  onError(listener) {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }
  /** Ask for a fresh snapshot now (after a refusal, or to re-check). */
  resync() {
    this.client.resyncView(this.view);
  }
  /** Stop following the view (unsubscribes when no other subscription follows it). */
  async close() {
    if (this.ended) return;
    this.end();
    this.queue.length = 0;
    await this.client.release(this.view, this);
  }
  [Symbol.asyncIterator]() {
    return {
      next: async () => {
        for (; ; ) {
          const state = this.queue.shift();
          if (state !== void 0) return { value: state, done: false };
          if (this.failure !== null) throw this.failure;
          if (this.ended) return { value: void 0, done: true };
          await new Promise((resolve) => this.wake = resolve);
        }
      },
      return: async () => {
        await this.close();
        return { value: void 0, done: true };
      }
    };
  }
  /** @internal */
  push(state) {
    if (this.ended) return;
    if (this.queue.length >= this.maxPending) {
      const dropped = this.queue.shift();
      if (dropped.resynced && this.queue.length) this.queue[0] = { ...this.queue[0], resynced: true };
      else if (dropped.resynced) state = { ...state, resynced: true };
    }
    this.queue.push(state);
    this.wakeUp();
    for (const listener of this.stateListeners) listener(state);
  }
  /** @internal */
  refuse(error) {
    for (const listener of this.errorListeners) listener(error);
  }
  /** @internal */
  fail(error) {
    this.failure = error;
    this.wakeUp();
  }
  /** @internal */
  end() {
    this.ended = true;
    this.wakeUp();
  }
  wakeUp() {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
};
var LiveView = class {
  constructor(key, request) {
    __publicField(this, "key", key);
    __publicField(this, "request", request);
    __publicField(this, "viewId", "");
    __publicField(this, "joined", false);
    __publicField(this, "resyncing", false);
    __publicField(this, "refused", false);
    __publicField(this, "tracker", new ViewTracker());
    __publicField(this, "subscriptions", /* @__PURE__ */ new Set());
  }
};
var LeaderboardClient = class _LeaderboardClient {
  /** A client for `url` (`ws://127.0.0.1:8080/prod`, `wss://{api}.execute-api…/{stage}`); the
   * token travels as the `token` query parameter, the API's identity source. Call `open()`
   * (or use `LeaderboardClient.connect`) or `start()`. */
  constructor(url, token, options = {}) {
    __publicField(this, "url");
    __publicField(this, "requestTimeoutMs");
    __publicField(this, "openTimeoutMs");
    __publicField(this, "minBackoffMs");
    __publicField(this, "maxBackoffMs");
    __publicField(this, "submitBudgetMs");
    __publicField(this, "maxFrameBytes");
    __publicField(this, "maxBatch");
    __publicField(this, "keepaliveMs");
    __publicField(this, "maxPendingStates");
    /** Successful redials so far. */
    __publicField(this, "reconnects", 0);
    __publicField(this, "dialUrl");
    __publicField(this, "implementation");
    __publicField(this, "statusListeners", /* @__PURE__ */ new Set());
    __publicField(this, "socket", null);
    __publicField(this, "pending", /* @__PURE__ */ new Map());
    __publicField(this, "views", /* @__PURE__ */ new Map());
    __publicField(this, "nextId", 1);
    __publicField(this, "attempt", 0);
    __publicField(this, "started", false);
    __publicField(this, "closing", false);
    __publicField(this, "failure", null);
    __publicField(this, "readyWaiters", /* @__PURE__ */ new Set());
    __publicField(this, "redialTimer", null);
    __publicField(this, "keepaliveTimer", null);
    __publicField(this, "lastStatus", { state: "connecting", attempt: 0, retryInMs: 0, reconnects: 0 });
    this.url = url;
    this.dialUrl = `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 1e4;
    this.openTimeoutMs = options.openTimeoutMs ?? 1e4;
    this.minBackoffMs = options.minBackoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 5e3;
    this.submitBudgetMs = options.submitBudgetMs ?? 12e4;
    this.maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.maxBatch = options.maxBatch ?? MAX_BATCH;
    this.keepaliveMs = options.keepaliveMs ?? 24e4;
    this.maxPendingStates = options.maxPendingStates ?? 1024;
    this.implementation = options.WebSocket;
    if (options.onStatus) this.statusListeners.add(options.onStatus);
  }
  /** Connect; resolves once connected, rejects with the dial's error (a refused token:
   * UnauthorizedError or ForbiddenError where the WebSocket reports the status). */
  static async connect(url, token, options = {}) {
    const client = new _LeaderboardClient(url, token, options);
    await client.open();
    return client;
  }
  /** Whether the socket is open and usable. */
  get connected() {
    return this.socket !== null && this.socket.readyState === OPEN && this.failure === null && !this.closing;
  }
  /** The connection's current status. */
  get status() {
    return this.lastStatus;
  }
  /** Call `listener` on every status change; returns a function that removes it. */
  onStatus(listener) {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }
  /** Connect once; a failed dial rejects (no retry). Then reconnects on its own. */
  async open() {
    if (this.started) throw new Error("the client is already open");
    this.started = true;
    this.setStatus("connecting");
    try {
      this.attach(await openSocket(await webSocketClass(this.implementation), this.dialUrl, this.openTimeoutMs));
    } catch (error) {
      this.started = false;
      this.setStatus("closed");
      throw error;
    }
  }
  /** Connect in the background, redialing with backoff until it succeeds (for pages and
   * widgets, which must outlive a server that is down when they load). */
  start() {
    if (this.started) throw new Error("the client is already open");
    this.started = true;
    this.setStatus("connecting");
    void this.redial(false);
    return this;
  }
  /** Dial now if waiting to redial (e.g. the browser came back online). */
  reconnectNow() {
    if (this.redialTimer === null || this.closing || this.failure) return;
    clearTimeout(this.redialTimer);
    this.redialTimer = null;
    void this.redial(false, true);
  }
  /** Close the socket: waiting requests fail with ConnectionLost, iterations end. */
  async close() {
    if (this.closing) return;
    this.closing = true;
    if (this.redialTimer !== null) clearTimeout(this.redialTimer);
    this.stopKeepalive();
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) {
      socket.onclose = socket.onmessage = socket.onerror = null;
      try {
        socket.close(1e3, "client closed");
      } catch {
      }
    }
    this.failPending(new ConnectionLost("the client was closed"));
    for (const view of this.views.values()) for (const sub of view.subscriptions) sub.end();
    this.views.clear();
    this.wakeReady();
    this.setStatus("closed");
  }
  // --- requests -----------------------------------------------------------------------
  /** Send one protocol message and wait for its reply frame (error frames reject with
   * their ServerError); a `request_id` is added. */
  request(message, options = {}) {
    return this.send(message, options.timeoutMs ?? this.requestTimeoutMs);
  }
  async send(message, timeoutMs, onReply) {
    if (!this.started && !this.closing) throw new Error("the client is not open: call open() or start()");
    const rid = `r${this.nextId++}`;
    const call = { settled: false };
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new RequestTimeout(`no reply to ${String(message.action)} in ${timeoutMs} ms`)),
        timeoutMs
      );
    });
    try {
      return await Promise.race([timeout, this.exchange(rid, message, call, onReply)]);
    } finally {
      call.settled = true;
      clearTimeout(timer);
      this.pending.delete(rid);
    }
  }
  async exchange(rid, message, call, onReply) {
    await this.ready();
    if (call.settled) throw new RequestTimeout("timed out before it was sent");
    this.checkUsable();
    const socket = this.socket;
    const reply = new Promise((resolve, reject) => {
      this.pending.set(rid, { resolve, reject, onReply });
    });
    try {
      socket.send(JSON.stringify({ ...message, request_id: rid }));
    } catch {
      throw new ConnectionLost("the connection dropped while sending");
    }
    const frame = await reply;
    if (frame.type === "error") throw errorFromFrame(frame);
    return frame;
  }
  ready() {
    if (this.connected || this.failure || this.closing) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.add(resolve));
  }
  wakeReady() {
    const waiters = [...this.readyWaiters];
    this.readyWaiters.clear();
    for (const wake of waiters) wake();
  }
  checkUsable() {
    if (this.failure) throw this.failure;
    if (this.closing) throw new ConnectionLost("the client is closed");
    if (!this.connected) throw new ConnectionLost("not connected");
  }
  // --- submissions --------------------------------------------------------------------
  /** Submit one score (for the token's player, or `player` with the server role).
   *
   * Acked after commit. Retries resend the same submission id until the time budget runs
   * out, so the service applies the score once; a retry's ack that hit an applied
   * submission has `replayed` set. */
  async submit(board, score, options = {}) {
    const message = submitMessage(board, score, options.submissionId ?? newSubmissionId(), options);
    assertFits(message, this.maxFrameBytes);
    return this.withRetry(message, Date.now() + (options.budgetMs ?? this.submitBudgetMs));
  }
  /** Submit scores of many players (server role), acked after commit. A batch that does
   * not fit one frame is split into parts with derived ids (see submissions.ts), sent in
   * order; each part is all or nothing, and a retry of the whole batch under the same id
   * replays the parts already applied. */
  async submitBatch(board, scores, options = {}) {
    const items = scores.map((s) => Array.isArray(s) ? { player: s[0], score: s[1] } : s);
    const id = options.submissionId ?? newSubmissionId();
    const deadline = Date.now() + (options.budgetMs ?? this.submitBudgetMs);
    const parts = [];
    for (const message of batchMessages(board, items, id, { maxFrameBytes: this.maxFrameBytes, maxBatch: this.maxBatch })) {
      parts.push(await this.withRetry(message, deadline));
    }
    return new BatchAck(board, id, parts);
  }
  async withRetry(message, deadline) {
    for (let attempt = 0; ; attempt++) {
      const left = deadline - Date.now();
      try {
        const frame = await this.send(message, Math.max(1, Math.min(this.requestTimeoutMs, left)));
        return Ack.of(frame);
      } catch (error) {
        const retryable = error instanceof ConnectionLost || error instanceof RequestTimeout || error instanceof ServerError && error.retryable;
        if (!retryable || this.closing || this.failure) throw error;
        const wait = Math.max(this.backoff(attempt), error instanceof ServerError ? error.retryAfterMs ?? 0 : 0);
        if (Date.now() + wait >= deadline) throw error;
        await sleep(wait);
      }
    }
  }
  /** The wait before retry or redial number `attempt` (0-based): doubling, with jitter. */
  backoff(attempt) {
    const base = Math.min(this.maxBackoffMs, this.minBackoffMs * 2 ** attempt);
    return base * (0.5 + Math.random() / 2);
  }
  // --- views --------------------------------------------------------------------------
  /** Follow a view and wait for its first state: `top` (n rows), `around` (player ± k)
   * or `me`. Rejects with the service's error when it refuses the view. */
  async subscribe(board, options = {}) {
    const sub = this.follow(board, options);
    if (sub.view.tracker.state !== null && sub.view.joined) return sub;
    await new Promise((resolve, reject) => {
      const done = () => {
        sub.joinListeners.delete(joined);
        offError();
        clearTimeout(timer);
      };
      const joined = () => {
        done();
        resolve();
      };
      sub.joinListeners.add(joined);
      const offError = sub.onError((error) => {
        done();
        void sub.close();
        reject(error);
      });
      const timer = setTimeout(() => {
        done();
        void sub.close();
        reject(new RequestTimeout(`no snapshot of ${board} in ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      if (this.failure) {
        done();
        reject(this.failure);
      }
    });
    return sub;
  }
  /** Follow a view without waiting: it is subscribed whenever the client is connected,
   * its states go to `onState` listeners and `for await`, and a refusal goes to
   * `onError` listeners (the view then waits for `resync()` or the next reconnect). */
  follow(board, options = {}) {
    if (this.closing) throw new ConnectionLost("the client is closed");
    const view = options.view ?? "top";
    const request = { action: "subscribe", board, view };
    if (view === "top") request.n = options.n ?? 10;
    if (view === "around") request.k = options.k ?? 5;
    if (options.player !== void 0) request.player = options.player;
    if (options.season !== void 0) request.season = options.season;
    const key = JSON.stringify(request);
    let live = this.views.get(key);
    const fresh = live === void 0;
    if (live === void 0) {
      live = new LiveView(key, request);
      this.views.set(key, live);
    }
    const sub = new Subscription(this, live, this.maxPendingStates);
    live.subscriptions.add(sub);
    if (options.join && live.tracker.apply(options.join) === APPLIED) this.publish(live);
    else if (live.tracker.state !== null) sub.push(live.tracker.state);
    if (fresh || live.refused) this.resyncView(live);
    return sub;
  }
  /** @internal */
  resyncView(view) {
    if (view.resyncing || this.closing || this.views.get(view.key) !== view) return;
    view.resyncing = true;
    void this.resubscribe(view);
  }
  async resubscribe(view) {
    for (let attempt = 0; !this.closing && this.views.get(view.key) === view; attempt++) {
      try {
        await this.send(view.request, this.requestTimeoutMs, (frame) => this.applyFrame(view, frame));
        view.resyncing = false;
        return;
      } catch (error) {
        if (error instanceof ConnectionLost) {
          view.resyncing = false;
          return;
        }
        if (error instanceof ServerError && !(error.retryable && this.failure === null)) {
          view.resyncing = false;
          view.refused = true;
          view.joined = true;
          for (const sub of view.subscriptions) sub.refuse(error);
          return;
        }
        if (this.failure) {
          view.resyncing = false;
          return;
        }
        await sleep(this.backoff(attempt));
      }
    }
    view.resyncing = false;
  }
  /** @internal */
  async release(view, sub) {
    view.subscriptions.delete(sub);
    if (view.subscriptions.size || this.views.get(view.key) !== view) return;
    this.views.delete(view.key);
    const shared = [...this.views.values()].some((v) => v.viewId === view.viewId);
    if (!view.viewId || shared || !this.connected) return;
    try {
      await this.send({ action: "unsubscribe", view_id: view.viewId }, this.requestTimeoutMs);
    } catch {
    }
  }
  publish(view) {
    const state = view.tracker.state;
    if (state === null) return;
    for (const sub of view.subscriptions) sub.push(state);
  }
  applyFrame(view, frame) {
    const outcome = view.tracker.apply(frame);
    if (frame.type === "snapshot") {
      view.viewId = String(frame.view_id);
      view.joined = true;
      view.refused = false;
    }
    if (outcome === APPLIED) this.publish(view);
    else if (outcome === GAP) this.resyncView(view);
    if (frame.type === "snapshot") {
      for (const sub of view.subscriptions) for (const joined of [...sub.joinListeners]) joined();
    }
  }
  // --- the socket ---------------------------------------------------------------------
  attach(socket) {
    this.socket = socket;
    this.attempt = 0;
    socket.onmessage = (event) => this.dispatch(event.data);
    socket.onerror = () => {
    };
    socket.onclose = (event) => this.lost(socket, event.code);
    this.setStatus("connected");
    this.startKeepalive();
    this.wakeReady();
  }
  lost(socket, code) {
    if (this.socket !== socket) return;
    this.socket = null;
    this.stopKeepalive();
    this.failPending(new ConnectionLost(`the connection dropped (${code})`));
    for (const view of this.views.values()) {
      view.tracker.lostConnection();
      view.joined = false;
      view.resyncing = false;
    }
    if (!this.closing) void this.redial(true);
  }
  async redial(reconnecting, now = false) {
    if (this.closing || this.failure) return;
    if (!now && (reconnecting || this.attempt > 0)) {
      const wait = this.backoff(this.attempt);
      this.setStatus("reconnecting", wait);
      await new Promise((resolve) => {
        this.redialTimer = setTimeout(() => {
          this.redialTimer = null;
          resolve();
        }, wait);
      });
      if (this.closing) return;
    }
    let socket;
    try {
      socket = await openSocket(await webSocketClass(this.implementation), this.dialUrl, this.openTimeoutMs);
    } catch (error) {
      if (this.closing) return;
      if (error instanceof UnauthorizedError || error instanceof ForbiddenError) {
        this.fail(error);
        return;
      }
      if (!(error instanceof LeaderboardError)) {
        this.fail(new ConnectionLost(String(error instanceof Error ? error.message : error)));
        return;
      }
      this.attempt += 1;
      void this.redial(true);
      return;
    }
    if (this.closing) {
      socket.close(1e3, "client closed");
      return;
    }
    if (reconnecting) this.reconnects += 1;
    this.attach(socket);
    for (const view of this.views.values()) this.resyncView(view);
  }
  fail(error) {
    this.failure = error;
    this.failPending(error);
    for (const view of this.views.values()) for (const sub of view.subscriptions) sub.fail(error);
    this.wakeReady();
    this.setStatus("failed", 0, error);
  }
  failPending(error) {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(error);
  }
  startKeepalive() {
    this.stopKeepalive();
    if (this.keepaliveMs <= 0) return;
    this.keepaliveTimer = setInterval(() => {
      for (const view of this.views.values()) this.resyncView(view);
    }, this.keepaliveMs);
    this.keepaliveTimer.unref?.();
  }
  stopKeepalive() {
    if (this.keepaliveTimer !== null) clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = null;
  }
  setStatus(state, retryInMs = 0, error) {
    this.lastStatus = { state, attempt: this.attempt, retryInMs, reconnects: this.reconnects, ...error ? { error } : {} };
    for (const listener of this.statusListeners) listener(this.lastStatus);
  }
  dispatch(data) {
    const text = textOf(data);
    if (text === null) return;
    let frame;
    try {
      const parsed = JSON.parse(text);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return;
      frame = parsed;
    } catch {
      return;
    }
    const pending = typeof frame.request_id === "string" ? this.pending.get(frame.request_id) : void 0;
    if (pending !== void 0) {
      this.pending.delete(frame.request_id);
      if (pending.onReply && frame.type !== "error") pending.onReply(frame);
      pending.resolve(frame);
      return;
    }
    if (frame.type === "update" || frame.type === "snapshot") {
      for (const view of this.views.values()) {
        if (view.viewId && view.viewId === frame.view_id) this.applyFrame(view, frame);
      }
    } else if (isGatewayError(frame)) {
      if (this.pending.size === 1) {
        const [[rid, only]] = [...this.pending.entries()];
        this.pending.delete(rid);
        only.reject(errorFromGateway(frame));
      }
    }
  }
};

// src/rest.ts
var RestClient = class {
  constructor(baseUrl, token, options = {}) {
    __publicField(this, "token", token);
    __publicField(this, "base");
    __publicField(this, "fetcher");
    this.base = baseUrl.replace(/\/+$/, "");
    this.fetcher = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }
  /** Any route: the parsed body, or the service's error (a ServerError subclass). */
  async call(method, path, options = {}) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== void 0 && value !== null) params.set(key, String(value));
    }
    const query = params.toString();
    const headers = { Authorization: `Bearer ${this.token}`, Accept: "application/json" };
    if (options.body !== void 0) headers["Content-Type"] = "application/json";
    const response = await this.fetcher(`${this.base}${path}${query ? `?${query}` : ""}`, {
      method,
      headers,
      cache: "no-store",
      body: options.body === void 0 ? void 0 : JSON.stringify(options.body)
    });
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) throw errorFromProblem(response.status, body, response.headers.get("Retry-After"));
    return body;
  }
  listBoards() {
    return this.call("GET", "/v1/boards");
  }
  board(board, options = {}) {
    return this.call("GET", `/v1/boards/${encodeURIComponent(board)}`, { query: options });
  }
  seasons(board) {
    return this.call("GET", `/v1/boards/${encodeURIComponent(board)}/seasons`);
  }
  /** A page of the ladder in rank order (`limit` ≤ 1000; `cursor` from `next_cursor`). */
  top(board, options = {}) {
    return this.call("GET", `/v1/boards/${encodeURIComponent(board)}/top`, { query: options });
  }
  player(board, player, options = {}) {
    return this.call("GET", `/v1/boards/${encodeURIComponent(board)}/players/${encodeURIComponent(player)}`, {
      query: options
    });
  }
  around(board, player, options = {}) {
    return this.call(
      "GET",
      `/v1/boards/${encodeURIComponent(board)}/players/${encodeURIComponent(player)}/around`,
      { query: options }
    );
  }
  friends(board, players, options = {}) {
    return this.call("GET", `/v1/boards/${encodeURIComponent(board)}/friends`, {
      query: { ...options, players: players.join(",") }
    });
  }
  /** Create a board (admin token). */
  createBoard(spec) {
    return this.call("POST", "/v1/boards", { body: spec });
  }
};
function viewEntry(e) {
  return entryOf({
    player: e.player_id,
    score: e.score,
    rank: e.rank,
    display_rank: e.display_rank,
    percentile: e.percentile,
    ...e.tier != null ? { tier: e.tier } : {}
  });
}
function viewEntries(entries) {
  return entries.map(viewEntry);
}
function snapshotOf(page) {
  const base = {
    type: "snapshot",
    board: page.board,
    season: page.season,
    seq: page.as_of_seq,
    total: page.total,
    ...page.next_reset_at != null ? { next_reset_at: page.next_reset_at } : {}
  };
  if ("entry" in page) {
    const me = viewEntry(page.entry);
    return { ...base, view: "me", entries: [], me };
  }
  const entries = viewEntries(page.entries);
  if ("player" in page) {
    const me = entries.find((e) => e.player === page.player);
    return { ...base, view: "around", entries, ...me ? { me } : {} };
  }
  return { ...base, view: "top", entries };
}
export {
  APPLIED,
  AccessDeniedError,
  Ack,
  AmbiguousRoleError,
  AuthorizerFailureError,
  BadAlgorithmError,
  BadAuthorizerContextError,
  BadEventError,
  BadMethodArnError,
  BadRequestError,
  BatchAck,
  BatchNotAllowedError,
  BatchTooLargeError,
  BinaryFrameError,
  BoardExistsError,
  BodyTooLargeError,
  ClientError,
  ConflictError,
  ConnectionGoneError,
  ConnectionLost,
  CursorMismatchError,
  DatabaseErrorError,
  DatabaseTimeoutError,
  DatabaseUnreachableError,
  DuplicatePlayerError,
  ERROR_CLASSES,
  EmptyBatchError,
  ForbiddenError,
  GAP,
  InternalError,
  InvalidBoardIdError,
  InvalidBoundsError,
  InvalidClaimsError,
  InvalidCursorError,
  InvalidJsonError,
  InvalidLimitError,
  InvalidMessageError,
  InvalidMetadataError,
  InvalidNumberError,
  InvalidPlayerIdError,
  InvalidPlayersError,
  InvalidRequestError,
  InvalidScoreError,
  InvalidSeasonIdError,
  InvalidSubmissionIdError,
  InvalidValueError,
  InvalidWindowError,
  JwksUnavailableError,
  KIND_CLASSES,
  LeaderboardClient,
  LeaderboardError,
  MAX_BATCH,
  MAX_FRAME_BYTES,
  MalformedTokenError,
  MessageTooLargeError,
  MetadataTooLargeError,
  MethodNotAllowedError,
  MisconfiguredError,
  MissingActionError,
  MissingAuthorizerContextError,
  MissingBodyError,
  MissingClaimError,
  MissingPlayerError,
  MissingRoleError,
  MissingTokenError,
  NotAnObjectError,
  NotFoundError,
  NotYourPlayerError,
  OverloadedError,
  PayloadTooLargeError,
  PlayerBannedError,
  RateLimitedError,
  RequestTimeout,
  ReservedSeasonError,
  RestClient,
  RoleNotAllowedError,
  STALE,
  ScoreOutOfRangeError,
  ScoreOverflowError,
  SeasonExistsError,
  SecretUnavailableError,
  ServerError,
  SubmissionConflictError,
  Subscription,
  UnauthorizedError,
  UnavailableError,
  UnknownActionError,
  UnknownBoardError,
  UnknownConnectionError,
  UnknownKeyError,
  UnknownPlayerError,
  UnknownRoleError,
  UnknownRouteError,
  UnknownSeasonError,
  UnknownViewError,
  ViewTooLargeError,
  ViewTracker,
  WrongRouteError,
  batchMessages,
  errorFromBody,
  errorFromFrame,
  errorFromProblem,
  newSubmissionId,
  partId,
  snapshotOf
};
