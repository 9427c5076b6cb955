-- Events as they arrived: one row per (source, event id).
CREATE TABLE events (
    key          uuid PRIMARY KEY,          -- EventKey(source, event_id)
    source       text NOT NULL,
    event_id     text NOT NULL,
    type         text NOT NULL,
    time         timestamptz,
    time_text    text NOT NULL DEFAULT '',
    body         bytea NOT NULL,            -- the original bytes (see intake.Stored)
    content_type text NOT NULL,
    received_at  timestamptz NOT NULL
);

-- One job per (event, route); an event no route wants has one job with route '' in state
-- 'unrouted'.
CREATE TABLE jobs (
    id               uuid PRIMARY KEY,      -- JobID(source, event_id, route)
    event_key        uuid NOT NULL REFERENCES events (key),
    route            text NOT NULL,
    state            text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'unrouted')),
    attempts         int NOT NULL DEFAULT 0,
    max_attempts     int NOT NULL,
    received_at      timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_owner      text NOT NULL DEFAULT '',
    lease_expires_at timestamptz,
    published        boolean NOT NULL DEFAULT false,
    cancel_requested boolean NOT NULL DEFAULT false,
    error            text NOT NULL DEFAULT '',
    transaction_id   bigint,
    logs             text NOT NULL DEFAULT '',
    details          jsonb
);

-- GET /jobs (no filter): newest first.
CREATE INDEX jobs_received ON jobs (received_at DESC, id DESC);
-- GET /jobs?state=...
CREATE INDEX jobs_state_received ON jobs (state, received_at DESC, id DESC);
-- GET /jobs?route=...
CREATE INDEX jobs_route_received ON jobs (route, received_at DESC, id DESC);
-- GET /jobs?event_id=... (through the event) and the events of a source.
CREATE INDEX events_event_id ON events (event_id);
CREATE INDEX jobs_event_key ON jobs (event_key);
-- The outbox relay: queued jobs not yet on the broker whose time has come.
CREATE INDEX jobs_outbox ON jobs (next_attempt_at) WHERE state = 'queued' AND NOT published;
-- The reaper: running jobs whose lease expired.
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE state = 'running';

-- Every attempt of every job, for the status API.
CREATE TABLE job_attempts (
    job_id      uuid NOT NULL REFERENCES jobs (id),
    n           int NOT NULL,
    owner       text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    outcome     text NOT NULL DEFAULT '',
    error       text NOT NULL DEFAULT '',
    PRIMARY KEY (job_id, n)
);
