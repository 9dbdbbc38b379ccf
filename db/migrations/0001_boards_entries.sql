-- Boards, seasons and entries: the ranked data itself.
--
-- A "ladder" is one (board, season) pair; entries and the rank structure key on its
-- small integer ``season_no`` so that every index stays narrow.
-- ``sort_score`` is the score in ascending "better first" order: the score on an
-- ``asc`` board, its negation on a ``desc`` board. Scores are bounded away from
-- int64's minimum so the negation never overflows.

CREATE TABLE lb_board (
    board_id        text COLLATE "C" PRIMARY KEY
                    CHECK (board_id ~ '^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$'),
    sort_order      text NOT NULL CHECK (sort_order IN ('desc', 'asc')),
    policy          text NOT NULL CHECK (policy IN ('best', 'latest', 'increment')),
    min_score       bigint NOT NULL CHECK (min_score > -9223372036854775808),
    max_score       bigint NOT NULL,
    reset_schedule  text CHECK (reset_schedule IN ('daily', 'weekly', 'monthly')),
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
    season          text COLLATE "C" NOT NULL,
    seq             bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (min_score <= max_score)
);

CREATE TABLE lb_season (
    season_no   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    board_id    text COLLATE "C" NOT NULL REFERENCES lb_board ON DELETE CASCADE,
    season      text COLLATE "C" NOT NULL CHECK (season ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
    started_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz,
    UNIQUE (board_id, season)
);

CREATE TABLE lb_entry (
    season_no    integer NOT NULL REFERENCES lb_season ON DELETE CASCADE,
    player_id    text COLLATE "C" NOT NULL,
    score        bigint NOT NULL,
    sort_score   bigint NOT NULL,
    achieved_at  timestamptz NOT NULL,
    updates      integer NOT NULL DEFAULT 1,
    metadata     jsonb,
    -- the key this row had before the last upsert; NULL right after an insert
    prev_score   bigint,
    prev_at      timestamptz,
    PRIMARY KEY (season_no, player_id)
) WITH (fillfactor = 90);

-- The one total order: sort_score, then earlier achieved_at, then player id.
CREATE INDEX lb_entry_order ON lb_entry (season_no, sort_score, achieved_at, player_id);

-- Idempotency: the first result of each client-supplied submission id.
CREATE TABLE lb_submission (
    board_id       text COLLATE "C" NOT NULL REFERENCES lb_board ON DELETE CASCADE,
    submission_id  text COLLATE "C" NOT NULL,
    request_hash   text NOT NULL,
    result         jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (board_id, submission_id)
);
CREATE INDEX lb_submission_created ON lb_submission (created_at);
