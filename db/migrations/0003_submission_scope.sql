-- Submission ids belong to whoever submits: a player's own ids, a server token's ids.
--
-- An idempotency record was keyed by (board, submission id), so anyone could occupy
-- another's id: a player who submitted first under "m42-alice" made alice's own submit
-- a submission_conflict. Records are now keyed by (board, submitter, submission id),
-- where ``submitter`` is the submitting principal's scope (core.auth.submission_scope:
-- "player:<player id>" or "server:<token subject>"), so replay and conflict hold within
-- one submitter's ids only.
--
-- Existing records are carried over under the submitter '' (unknown: they predate the
-- scope). lb_submit honours such a record for a replay of the same payload under the
-- same id by anyone, and never as a conflict; they leave with the retention window
-- (submission_retention_s, a day by default).
ALTER TABLE lb_submission ADD COLUMN submitter text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE lb_submission DROP CONSTRAINT lb_submission_pkey;
ALTER TABLE lb_submission ADD PRIMARY KEY (board_id, submitter, submission_id);
