package intake

import (
	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/jsonpath2"
)

// Routed reports whether some route wants the event (the dispatcher's own uploads match
// none). Catch-up takes in only such events: an upload no subscription filter matched was
// never to be delivered.
func (in *Intake) Routed(ev *event.Event) bool {
	doc, err := jsonpath2.Decode(ev.Document())
	return err == nil && len(in.cfg.Routes.Match(doc)) > 0
}
