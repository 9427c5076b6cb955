-- Checkpoints: durable facts a job's handler records while it runs (e.g. the ingest job of
-- an upload already accepted), by name, so that a later attempt of the same job does not
-- redo what an earlier one finished. Kept across reschedules, reclaims and operator
-- retries; written only by the lease owner of a running job.
ALTER TABLE jobs ADD COLUMN checkpoints jsonb NOT NULL DEFAULT '{}';
