package pacificasim

import (
	"context"
	"encoding/json"
)

// IngestPolicy decides the "Policy Validation" task of an upload, as Pacifica's policy
// service does: an error fails the job, its text becoming the job's exception.
type IngestPolicy func(ctx context.Context, req PolicyRequest) error

// PolicyRequest is what an IngestPolicy judges.
type PolicyRequest struct {
	// User is the acting user of the upload.
	User string
	// Submitter, Project and Instrument are the uploaded values, JSON types kept; nil when
	// the upload leaves one out.
	Submitter, Project, Instrument json.RawMessage
}
