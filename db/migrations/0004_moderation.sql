-- Moderation and data rights: removed entries, bans, erasure and the audit log
-- (docs/moderation.md; the functions are lb_remove_entry, lb_ban, lb_unban,
-- lb_erase_player and the helpers they share, one file each in db/functions/).

-- A removal is a change event too: the entry left its key and arrived nowhere, so the
-- new key of such an event is NULL (broadcast/worker.py and core/views.py read it as a
-- departure). Consumers that only ever saw arrivals and moves see the same rows as before.
ALTER TABLE lb_event ALTER COLUMN new_score DROP NOT NULL;
ALTER TABLE lb_event ALTER COLUMN new_at DROP NOT NULL;

-- A player's bans: on one board, or on every board (board_id NULL). While any ban covers
-- a board, lb_submit refuses the player's scores there (player_banned) and the player's
-- entries on that board are kept in lb_hidden_entry instead of lb_entry, so no read,
-- rank or total counts them and the rank arithmetic never has to filter.
CREATE TABLE lb_ban (
    player_id  text COLLATE "C" NOT NULL,
    board_id   text COLLATE "C" REFERENCES lb_board ON DELETE CASCADE,
    reason     text,
    actor      text NOT NULL,
    since      timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (player_id, board_id)
);

-- Entries of banned players, exactly as they stood when the ban hid them (every season,
-- archived ones too); an unban puts them back unchanged.
CREATE TABLE lb_hidden_entry (
    season_no    integer NOT NULL REFERENCES lb_season ON DELETE CASCADE,
    player_id    text COLLATE "C" NOT NULL,
    score        bigint NOT NULL,
    sort_score   bigint NOT NULL,
    achieved_at  timestamptz NOT NULL,
    updates      integer NOT NULL,
    metadata     jsonb,
    hidden_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (season_no, player_id)
);
CREATE INDEX lb_hidden_entry_player ON lb_hidden_entry (player_id);

-- Finding a player's entries across every ladder (the player lookup, bans and erasure)
-- without a scan: lb_entry's keys lead with the ladder.
CREATE INDEX lb_entry_player ON lb_entry (player_id);

-- Every moderation action: who (the token's subject), what, where, about whom, why and
-- when. board_id NULL is every board; season NULL is every season (or none).
CREATE TABLE lb_audit (
    audit_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,
    action     text NOT NULL CHECK (action IN ('remove_entry', 'ban', 'unban', 'erase_player')),
    board_id   text COLLATE "C",
    player_id  text COLLATE "C" NOT NULL,
    season     text COLLATE "C",
    reason     text,
    detail     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX lb_audit_player ON lb_audit (player_id, audit_id);
CREATE INDEX lb_audit_board ON lb_audit (board_id, audit_id);
