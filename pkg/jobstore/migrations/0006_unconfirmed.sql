-- The intake publishes a new job's message right after recording it, and used to mark the job
-- published once RabbitMQ confirmed it: an UPDATE of the wide jobs row whose "published"
-- column the outbox index's condition names, so every mark wrote a new row version and an
-- entry in each of the table's indexes, about half of PostgreSQL's work per event. Now a new
-- queued job is recorded published, with a row here saying its message is not confirmed yet;
-- the confirm deletes that narrow row. When no confirm comes (the broker refused, the process
-- died in between), the relay finds the row once it is older than the publish could take,
-- publishes the job if it is still queued at that version, and deletes the row.
CREATE TABLE job_unconfirmed (
    job_id  uuid PRIMARY KEY,
    version timestamptz NOT NULL    -- the job's updated_at when recorded
);
CREATE INDEX job_unconfirmed_version ON job_unconfirmed (version);
