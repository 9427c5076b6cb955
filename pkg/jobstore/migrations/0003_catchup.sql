-- Catch-up's cursor: the creation time of the newest Pacifica transaction it has looked at,
-- so that it survives restarts. One row per name.
CREATE TABLE cursors (
    name   text PRIMARY KEY,
    value  timestamptz NOT NULL
);
