-- The broadcaster's lease on a board, which debounces the Aurora wake-up
-- (db/functions/lb_wake_broadcaster.sql, db/lease.py): while a broadcaster works on a
-- board it keeps `until` ahead of the clock, and a writer invokes the broadcaster only
-- once `until` has passed, taking the lease as it does. A board gets its row from its
-- first wake-up; boards never woken from the database (the local runtime) have none.
CREATE TABLE lb_broadcaster_lease (
    board_id  text COLLATE "C" PRIMARY KEY,
    until     timestamptz NOT NULL
);

-- Wake-ups whose invoke failed. The writer records the failure and commits its write
-- anyway; the minute sweep pushes the events, then counts and deletes these rows for
-- the WakeupFailures alarm. Insert-only for writers, so writers never contend on it.
CREATE TABLE lb_wakeup_failure (
    failure_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    board_id    text NOT NULL,
    failed_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    error       text NOT NULL
);
