-- A warm broadcaster keeps a board's subscriptions in memory between rounds.
--
-- Every subscription carries a change number from a sequence (taken without locks),
-- renewed whenever the routes (re)subscribe it. A broadcaster fingerprints a board's
-- live subscriptions (count, sum and xor-hash of their change numbers): while the
-- fingerprint stays the same, nobody subscribed, resubscribed, unsubscribed or left, and
-- its cached set is current. Change numbers are unique, so any insert or delete moves
-- the fingerprint even when it commits out of sequence order.
--
-- The broadcaster's view states (what each subscription was last sent, and when) live in
-- one row per board, written in the same transaction as its cursor: one row per round
-- instead of one per subscriber. `rounds` counts those writes, so a broadcaster can tell
-- whether another one (another Lambda container) ran since its own last round.

CREATE SEQUENCE lb_subscription_change;
ALTER TABLE lb_subscription
    ADD COLUMN change_no bigint NOT NULL DEFAULT nextval('lb_subscription_change');

ALTER TABLE lb_feed_cursor
    ADD COLUMN rounds bigint NOT NULL DEFAULT 0,
    ADD COLUMN states text;
