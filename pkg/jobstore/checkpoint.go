package jobstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
)

const saveCheckpointSQL = `UPDATE jobs SET checkpoints = checkpoints || jsonb_build_object($3::text, $4::jsonb)
	WHERE id = $1 AND state = 'running' AND lease_owner = $2`

// SaveCheckpoint records value under name in owner's running job, replacing an earlier
// value of that name, in one statement guarded by the lease: ErrLeaseLost means the job is
// not (or no longer) owner's, and nothing was written. Value must be JSON.
//
// Checkpoints come back with the job from Claim (Job.Checkpoints). They are kept when the
// job is rescheduled, reclaimed from a lost worker, and retried by an operator: a retried
// job does not redo what an earlier attempt recorded as done (for instance, it does not
// upload again what ingest already accepted).
func (s *Store) SaveCheckpoint(ctx context.Context, id uuid.UUID, owner, name string, value json.RawMessage) error {
	if !json.Valid(value) {
		return fmt.Errorf("jobstore: checkpoint %q of job %s is not JSON", name, id)
	}
	tag, err := s.pool.Exec(ctx, saveCheckpointSQL, id, owner, name, string(value))
	if err != nil {
		return fmt.Errorf("jobstore: save checkpoint %q of job %s: %w", name, id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: job %s", ErrLeaseLost, id)
	}
	return nil
}
