-- The schema: tables, views, sequences, indexes and their storage parameters.
--
-- Functions and the triggers that call them live in db/functions/, one file per function,
-- applied after the numbered migrations (db/migrate.py). Design notes: db/RANKING.md.

-- Boards, seasons and entries: the ranked data itself.
--
-- A "ladder" is one (board, season) pair; entries and the rank structure key on its
-- small integer ``season_no`` so that every index stays narrow.
-- ``sort_score`` is the score in ascending "better first" order: the score on an
-- ``asc`` board, its negation on a ``desc`` board. Scores are bounded away from
-- int64's minimum so the negation never overflows.
--
-- Every submit reads its board's row, the sequencer updates it (seq) on each round, and
-- every idempotent submit holds a KEY SHARE lock on it (lb_submission's foreign key) until
-- it commits. So each update leaves a dead version whose xmax is a multixact, and a reader
-- that meets one looks its members up in the multixact SLRU. PostgreSQL prunes a page's
-- dead versions only once the page is nearly full; at fillfactor 10 it prunes as soon as a
-- tenth of the page is used, so a board row has a few dead versions at most. The table is
-- a row per board, so the space is nothing; updates of seq stay HOT (it is not indexed)
-- and the free space keeps them on the row's page.
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
) WITH (fillfactor = 10);

CREATE TABLE lb_season (
    season_no   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    board_id    text COLLATE "C" NOT NULL REFERENCES lb_board ON DELETE CASCADE,
    season      text COLLATE "C" NOT NULL CHECK (season ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
    started_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz,
    UNIQUE (board_id, season)
);

-- The one home of the board/season lookup that the reads and submits start from: every
-- ladder with its board's settings and the board's current season. A caller picks its
-- ladder by board_id and season: ``season = current_season`` for the current one,
-- ``season = coalesce($2, current_season)`` for a season or else the current one.
--
-- A view rather than a set-returning SQL function: both are expanded into the calling
-- statement and leave its plan as if the join were written out, but a function is
-- inlined from its text each time the statement is planned, which costs tens of
-- microseconds on every call of the reads whose custom plans price lower than a generic
-- one (the plan cache plans those anew each call), while a view's query tree is cached
-- with the relation and is expanded for next to nothing.
CREATE VIEW lb_ladder AS
SELECT b.board_id, s.season_no, s.season, b.season AS current_season, b.seq, b.sort_order,
       b.policy, b.min_score, b.max_score
  FROM lb_board b
  JOIN lb_season s ON s.board_id = b.board_id;

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

-- The counted rank structure (see db/RANKING.md).
--
-- Buckets partition a ladder's key space (sort_score, achieved_at, player_id) into
-- ranges of a few hundred entries; blocks partition it into runs of buckets. Each
-- range is named by its inclusive lower bound; the first range of every ladder starts
-- at the sentinel (-2^63, -infinity, '') below every real key.
--
-- Writers never update a counter. They append +1/-1 rows to lb_rank_delta at the
-- keys an entry entered and left; the compactor folds deltas into bucket and block
-- counts in one REPEATABLE READ transaction. For any snapshot:
--     #entries in a range = range count + sum of visible deltas whose key is in it.

CREATE TABLE lb_rank_block (
    season_no  integer NOT NULL REFERENCES lb_season ON DELETE CASCADE,
    lo_score   bigint NOT NULL,
    lo_at      timestamptz NOT NULL,
    lo_player  text COLLATE "C" NOT NULL,
    cnt        bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (season_no, lo_score, lo_at, lo_player)
);

CREATE TABLE lb_rank_bucket (
    season_no  integer NOT NULL REFERENCES lb_season ON DELETE CASCADE,
    lo_score   bigint NOT NULL,
    lo_at      timestamptz NOT NULL,
    lo_player  text COLLATE "C" NOT NULL,
    cnt        bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (season_no, lo_score, lo_at, lo_player)
);

-- ``sized`` marks the deltas that change the ladder's size: true for a new entry's +1,
-- false for either half of a score change's -1/+1 pair, which nets to zero. Pairs are
-- written by one transaction and folded by another, each atomically, so in every
-- snapshot the sum of the pairs is zero and
--     size = lb_rank_total.cnt + sum of visible deltas that are not sized = false
-- (lb_count_entries), which sums only the arrivals, through lb_rank_delta_sized. A row
-- with sized NULL counts, as an arrival would.
--
-- The compactor deletes every delta it folds. Until VACUUM removes them their index
-- entries stay, and every read that sums the pending deltas before a key walks them, so
-- the table is vacuumed eagerly: by the compactor's callers (db/compaction.py
-- vacuum_deltas) and, as a fallback, by autovacuum after a fixed number of dead rows
-- rather than a fraction of a table that is nearly empty by design. Neither truncates it:
-- truncating takes an ACCESS EXCLUSIVE lock, which stalls writers here and, replayed on
-- the read replica, stalls or cancels the reads there; the emptied pages are reused.
CREATE TABLE lb_rank_delta (
    season_no    integer NOT NULL,
    sort_score   bigint NOT NULL,
    achieved_at  timestamptz NOT NULL,
    player_id    text COLLATE "C" NOT NULL,
    delta        smallint NOT NULL CHECK (delta IN (-1, 1)),
    sized        boolean
) WITH (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 5000,
    autovacuum_vacuum_cost_delay = 0,
    vacuum_truncate = false
);
CREATE INDEX lb_rank_delta_key ON lb_rank_delta (season_no, sort_score, achieved_at, player_id)
    INCLUDE (delta);
CREATE INDEX lb_rank_delta_sized ON lb_rank_delta (season_no) INCLUDE (delta)
    WHERE sized IS NOT FALSE;

-- The sum of each ladder's block counts, kept by statement triggers on lb_rank_block
-- (db/functions/lb_rank_total_follow.sql) in the compactor's own statements, so for every
-- snapshot
--     lb_rank_total.cnt = sum of the ladder's block counts
-- and a ladder's size is that row plus the pending sized deltas, without summing blocks.
CREATE TABLE lb_rank_total (
    season_no  integer PRIMARY KEY REFERENCES lb_season ON DELETE CASCADE,
    cnt        bigint NOT NULL DEFAULT 0
);

-- The change feed: an outbox written in the same transaction as every rank move.
--
-- Writers insert events with seq NULL while holding a shared per-board advisory lock
-- (class 19522); lb_sequence_settled() numbers the committed pending events of a board
-- in event_id order, from the board's counter under the board row's lock. So per-board
-- seq is dense, increasing, and assigned only to committed events, and an event committed
-- later gets a later number (db/functions/lb_sequence_settled.sql).
CREATE TABLE lb_event (
    event_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    board_id    text COLLATE "C" NOT NULL,
    season      text COLLATE "C" NOT NULL,
    season_no   integer NOT NULL,
    seq         bigint,
    player_id   text COLLATE "C" NOT NULL,
    old_score   bigint,
    new_score   bigint NOT NULL,
    old_at      timestamptz,
    new_at      timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX lb_event_board_seq ON lb_event (board_id, seq) WHERE seq IS NOT NULL;
CREATE INDEX lb_event_pending ON lb_event (board_id, event_id) WHERE seq IS NULL;

-- Consumers' cursors: the last seq each consumer has fully handled per board.
--
-- A broadcaster keeps its view states (what each subscription was last sent, and when)
-- in ``states``, one row per board written in the same transaction as its cursor: one
-- row per round instead of one per subscriber. ``rounds`` counts those writes, so a
-- broadcaster can tell whether another one (another Lambda container) ran since its own
-- last round.
CREATE TABLE lb_feed_cursor (
    consumer    text COLLATE "C" NOT NULL,
    board_id    text COLLATE "C" NOT NULL REFERENCES lb_board ON DELETE CASCADE,
    seq         bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    rounds      bigint NOT NULL DEFAULT 0,
    states      text,
    PRIMARY KEY (consumer, board_id)
);

-- WebSocket connections and their subscriptions, for the route handlers and the
-- broadcaster. API Gateway delivers $disconnect best-effort, so every connection
-- carries an expiry (API Gateway's 2 h maximum) and a sweep deletes stale ones.
CREATE TABLE lb_connection (
    connection_id  text COLLATE "C" PRIMARY KEY,
    subject        text NOT NULL,
    player_id      text COLLATE "C",
    role           text NOT NULL CHECK (role IN ('player', 'server', 'spectator', 'admin')),
    connected_at   timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL
);
CREATE INDEX lb_connection_expires ON lb_connection (expires_at);

-- Every subscription carries a change number from a sequence (taken without locks),
-- renewed whenever the routes (re)subscribe it. A warm broadcaster keeps a board's
-- subscriptions in memory between rounds and fingerprints the live ones (count, sum and
-- xor-hash of their change numbers): while the fingerprint stays the same, nobody
-- subscribed, resubscribed, unsubscribed or left, and its cached set is current. Change
-- numbers are unique, so any insert or delete moves the fingerprint even when it commits
-- out of sequence order.
CREATE SEQUENCE lb_subscription_change;

CREATE TABLE lb_subscription (
    connection_id  text COLLATE "C" NOT NULL REFERENCES lb_connection ON DELETE CASCADE,
    view_id        text COLLATE "C" NOT NULL,
    board_id       text COLLATE "C" NOT NULL REFERENCES lb_board ON DELETE CASCADE,
    season         text COLLATE "C" NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('top', 'around', 'me')),
    player_id      text COLLATE "C",
    size           integer NOT NULL,
    last_seq       bigint NOT NULL DEFAULT 0,
    last_state     jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    change_no      bigint NOT NULL DEFAULT nextval('lb_subscription_change'),
    PRIMARY KEY (connection_id, view_id)
);
CREATE INDEX lb_subscription_board ON lb_subscription (board_id, season, kind);

-- Deployment settings the database itself reads: the broadcaster's ARN and region for
-- the Aurora wake-up (db/functions/lb_wake_broadcaster.sql, installed by db/wakeup.py).
CREATE TABLE lb_setting (
    key    text PRIMARY KEY,
    value  text NOT NULL
);
