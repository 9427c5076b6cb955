package pacificasim

import (
	"fmt"
	"net/http"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacificasim/internal/pyjson"
)

// ServerVersion is the "version" of the simulator's error bodies, where Pacifica's services
// put their CherryPy version.
const ServerVersion = "pacifica-sim"

// errorBody is the body of every Pacifica error answer.
type errorBody struct {
	Status    string `json:"status"`
	Message   string `json:"message"`
	Traceback string `json:"traceback"`
	Version   string `json:"version"`
}

// writeError answers code with Pacifica's error body.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{
		Status:  fmt.Sprintf("%d %s", code, http.StatusText(code)),
		Message: msg,
		Version: ServerVersion,
	})
}

// writeJSON answers code with v, a Go value or a pyjson value, in Python's JSON form.
func writeJSON(w http.ResponseWriter, code int, v any) {
	var (
		b   []byte
		err error
	)
	switch v := v.(type) {
	case *pyjson.Object, []any:
		b, err = pyjson.Marshal(v)
	default:
		b, err = pyjson.MarshalGo(v)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// writeText answers code with a plain text body, as CherryPy does for a returned string.
func writeText(w http.ResponseWriter, code int, text string) {
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(text))
}
