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
    PRIMARY KEY (connection_id, view_id)
);
CREATE INDEX lb_subscription_board ON lb_subscription (board_id, season, kind);
