-- The dispatcher_jobs gauge and the dashboard's counts by route and state, without counting the
-- whole jobs table: triggers append the change made by each statement that inserts or deletes
-- jobs, or changes a job's state (or route), to job_count_deltas (an INSERT, so concurrent
-- writers never wait on a shared counter row); Counts folds the deltas into job_counts from time
-- to time and reads the sum of both, which is exact.
CREATE TABLE job_counts (
    route text NOT NULL,
    state text NOT NULL,
    n     bigint NOT NULL,
    PRIMARY KEY (route, state)
);

CREATE TABLE job_count_deltas (
    route text NOT NULL,
    state text NOT NULL,
    n     bigint NOT NULL
);

CREATE FUNCTION jobs_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_count_deltas (route, state, n)
        SELECT route, state, count(*) FROM new_jobs GROUP BY route, state;
    RETURN NULL;
END $$;

CREATE FUNCTION jobs_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_count_deltas (route, state, n)
        SELECT route, state, -count(*) FROM old_jobs GROUP BY route, state;
    RETURN NULL;
END $$;

CREATE FUNCTION jobs_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_count_deltas (route, state, n) VALUES (OLD.route, OLD.state, -1), (NEW.route, NEW.state, 1);
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS new_jobs FOR EACH STATEMENT EXECUTE FUNCTION jobs_count_insert();
CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs
    REFERENCING OLD TABLE AS old_jobs FOR EACH STATEMENT EXECUTE FUNCTION jobs_count_delete();
-- A row trigger with a column list and a condition, so that the statements that do not change
-- a job's state or route (heartbeats, log appends, the outbox's marks) never call it.
CREATE TRIGGER jobs_count_update AFTER UPDATE OF state, route ON jobs FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.route IS DISTINCT FROM NEW.route)
    EXECUTE FUNCTION jobs_count_update();

-- The jobs already there (the triggers above already hold the table's lock: no write is missed).
INSERT INTO job_counts (route, state, n) SELECT route, state, count(*) FROM jobs GROUP BY route, state;
