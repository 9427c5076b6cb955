package pacificasim

import (
	"context"
	"strconv"
)

// Job states and tasks, as ingest spells them.
const (
	stateOK     = "OK"
	stateFailed = "FAILED"

	taskUploading      = "UPLOADING"
	taskOpenTar        = "open tar"
	taskLoadMetadata   = "load metadata"
	taskPolicy         = "Policy Validation"
	taskIngestFiles    = "ingest files"
	taskIngestMetadata = "ingest metadata"
)

// JobState is the state of an ingest job, as GET /get_state answers it.
type JobState struct {
	JobID       int64  `json:"job_id"`
	State       string `json:"state"`        // OK or FAILED
	Task        string `json:"task"`         // UPLOADING … ingest metadata
	TaskPercent string `json:"task_percent"` // a number as a string, as Pacifica writes it
	Complete    bool   `json:"complete"`     // the job finished successfully
	Created     string `json:"created"`      // local time, "2006-01-02 15:04:05"
	Updated     string `json:"updated"`
	Exception   string `json:"exception"` // why the job failed
}

// Done reports whether the job has finished, well or not.
func (j JobState) Done() bool { return j.State == stateFailed || j.Complete }

const stateTimeLayout = "2006-01-02 15:04:05"

// Job returns the state of the ingest job id.
func (s *Sim) Job(id int64) (JobState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return JobState{}, false
	}
	return *j, true
}

// WaitJob waits until the ingest job id has finished, successfully or not, and returns its
// final state.
func (s *Sim) WaitJob(ctx context.Context, id int64) (JobState, error) {
	var st JobState
	err := s.waitFor(ctx, func() bool {
		j, ok := s.jobs[id]
		if ok {
			st = *j
		}
		return ok && st.Done()
	})
	return st, err
}

// newJob starts the state of a new upload: its id is the next transaction id.
func (s *Sim) newJob() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextJobID
	s.nextJobID++
	now := s.now().Local().Format(stateTimeLayout)
	s.jobs[id] = &JobState{JobID: id, State: stateOK, Task: taskUploading, TaskPercent: pyFloat(0),
		Created: now, Updated: now}
	s.notifyLocked()
	return id
}

func (s *Sim) setJob(id int64, state, task string, percent float64, exception string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[id]
	j.State, j.Task, j.TaskPercent, j.Exception = state, task, pyFloat(percent), exception
	j.Updated = s.now().Local().Format(stateTimeLayout)
	j.Complete = state == stateOK && task == taskIngestMetadata && percent == 100
	s.notifyLocked()
}

func (s *Sim) failJob(id int64, task string, err error) {
	s.setJob(id, stateFailed, task, 0, err.Error())
}

// pyFloat writes f as Python's str(float) does for the values of task_percent.
func pyFloat(f float64) string {
	t := strconv.FormatFloat(f, 'f', -1, 64)
	for _, c := range t {
		if c == '.' {
			return t
		}
	}
	return t + ".0"
}
