package service

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

const jsonCT = "application/json"

// raw delivers a fixed body as JSON.
func raw(body string) func(*hostileEnv) delivery {
	return func(*hostileEnv) delivery { return delivery{contentType: jsonCT, body: []byte(body)} }
}

// edited delivers the base event, edited.
func edited(edits ...func(m map[string]any)) func(*hostileEnv) delivery {
	return func(e *hostileEnv) delivery { return delivery{contentType: jsonCT, body: e.event(edits...)} }
}

// confirmed delivers the event of a new source whose key/values are those of the base event
// edited by edits (see hostileEnv.confirmed).
func confirmed(edits ...func(m map[string]any)) func(*hostileEnv) delivery {
	return func(e *hostileEnv) delivery { return delivery{contentType: jsonCT, body: e.confirmed(edits...)} }
}

func set(key string, v any) func(m map[string]any) { return func(m map[string]any) { m[key] = v } }
func del(key string) func(m map[string]any)        { return func(m map[string]any) { delete(m, key) } }

// rawJSON is a value marshalled as the given JSON text.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// envelope returns a Pacifica 0.1 envelope with the given data (JSON text), as raw JSON.
func envelope(id, data string) string {
	return `{"cloudEventsVersion":"0.1","eventType":"org.pacifica.metadata.ingest","source":"/pacifica/metadata/ingest",` +
		`"eventID":"` + id + `","eventTime":"2018-08-30T15:20:00Z","extensions":{},"contentType":"application/json","data":` + data + `}`
}

// randomHex returns n random bytes in hex (text that does not compress).
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// nested returns n nested JSON lists.
func nested(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

// ceBatch delivers a CloudEvents batch of n events that no route wants.
func ceBatch(prefix string, n int) func(*hostileEnv) delivery {
	return func(*hostileEnv) delivery {
		var b strings.Builder
		b.WriteString("[")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"specversion":"1.0","id":"%s-%d","source":"/hostile/batch","type":"org.example.batch"}`, prefix, i)
		}
		b.WriteString("]")
		return delivery{contentType: "application/cloudevents-batch+json", body: []byte(b.String())}
	}
}

// idleFlood opens n connections to base, each after one request, kept open and idle.
func idleFlood(t *testing.T, base string, n int) []net.Conn {
	t.Helper()
	addr := strings.TrimPrefix(base, "http://")
	var conns []net.Conn
	for range n {
		// Generous: on a loaded machine the receiver may take a while to come to the backlog.
		c, err := net.DialTimeout("tcp", addr, 20*time.Second)
		if err != nil {
			t.Fatalf("after %d connections: %v", len(conns), err)
		}
		conns = append(conns, c)
		if _, err := fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err == nil {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
				resp.Body.Close()
			}
		}
	}
	return conns
}

// csvFiles are n Files entries of CSVs in inputs/.
func csvFiles(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"destinationTable": "Files", "_id": 200000 + i, "name": fmt.Sprintf("c%04d.csv", i),
			"subdir": "inputs/", "size": 10, "hashtype": "sha1", "hashsum": strings.Repeat("0", 40), "mimetype": "text/csv"}
	}
	return out
}

func receiverCases() []hostileCase {
	bad := func(code int, mention ...string) hostileWant { return hostileWant{code: code, errHas: mention} }
	accepted := func(state string, mention ...string) hostileWant {
		return hostileWant{code: http.StatusAccepted, state: state, errHas: mention}
	}
	cases := []hostileCase{
		// Not JSON, or not an event.
		{name: "receiver/empty body", deliver: raw(``), want: bad(400)},
		// CloudEvents 0.1 requires eventID, and job ids are made from it: without one an
		// event could not be told from its re-deliveries. Pacifica always sends it.
		{name: "receiver/no eventID", deliver: edited(func(m map[string]any) { delete(m, "eventID") }),
			want: bad(400, "eventID: missing")},
		// eventTime is optional in CloudEvents 0.1: the event is taken, and runs.
		{name: "receiver/no eventTime", deliver: edited(func(m map[string]any) { delete(m, "eventTime") }),
			want: accepted("succeeded")},
		{name: "receiver/malformed JSON", deliver: raw(`{"cloudEventsVersion": "0.1",`), want: bad(400, "not a JSON object")},
		{name: "receiver/truncated event", deliver: func(e *hostileEnv) delivery {
			b := e.event()
			return delivery{contentType: jsonCT, body: b[:len(b)/2]}
		}, want: bad(400)},
		{name: "receiver/trailing garbage", deliver: func(e *hostileEnv) delivery {
			return delivery{contentType: jsonCT, body: append(e.event(), []byte(`}{"x":1}`)...)}
		}, want: bad(400)},
		{name: "receiver/JSON null", deliver: raw(`null`), want: bad(400)},
		{name: "receiver/JSON string", deliver: raw(`"an event"`), want: bad(400)},
		{name: "receiver/JSON list", deliver: raw(`[1,2,3]`), want: bad(400)},
		{name: "receiver/object but no event", deliver: raw(`{"hello":"world"}`), want: bad(400, "not a CloudEvent")},
		{name: "receiver/invalid UTF-8 outside strings", deliver: raw("{\xff\xfe}"), want: bad(400)},
		// Wrong types in every envelope field.
		{name: "receiver/eventID number", deliver: edited(set("eventID", 7)), want: bad(400, "eventID")},
		{name: "receiver/eventID object", deliver: edited(set("eventID", map[string]any{"a": 1})), want: bad(400, "eventID")},
		{name: "receiver/eventType object", deliver: edited(set("eventType", map[string]any{"x": "y"})), want: bad(400, "eventType")},
		{name: "receiver/source list", deliver: edited(set("source", []any{"a"})), want: bad(400, "source")},
		{name: "receiver/cloudEventsVersion number", deliver: edited(set("cloudEventsVersion", 0.1)), want: bad(400, "cloudEventsVersion")},
		{name: "receiver/eventTime number", deliver: edited(set("eventTime", 1535642400)), want: bad(400, "eventTime")},
		{name: "receiver/contentType bool", deliver: edited(set("contentType", true)), want: bad(400, "contentType")},
		{name: "receiver/extensions list", deliver: edited(set("extensions", []any{"a", "b"})), want: bad(400, "extensions")},
		{name: "receiver/extensions string", deliver: edited(set("extensions", "x")), want: bad(400, "extensions")},
		// Missing or empty ids.
		{name: "receiver/missing eventID", deliver: edited(del("eventID")), want: bad(400, "eventID")},
		{name: "receiver/empty eventID", deliver: edited(set("eventID", "")), want: bad(400, "eventID")},
		{name: "receiver/missing source", deliver: edited(del("source")), want: bad(400, "source")},
		{name: "receiver/missing eventType", deliver: edited(del("eventType")), want: bad(400, "eventType")},
		{name: "receiver/eventID null", deliver: edited(set("eventID", nil)), want: bad(400, "eventID")},
		// Ids PostgreSQL cannot hold as text, or too long to index.
		{name: "receiver/NUL in eventID", deliver: edited(set("eventID", "nul\x00id")), want: bad(400, "eventID: contains a NUL")},
		{name: "receiver/NUL in source", deliver: edited(set("source", "/pacifica/\x00")), want: bad(400, "source: not a URI reference")},
		{name: "receiver/NUL in eventTime", deliver: edited(set("eventTime", "2018-08-30\x00")), want: bad(400, "eventTime")},
		{name: "receiver/100 KB eventID", deliver: edited(set("eventID", randomHex(50<<10))), want: bad(400, "eventID: 102400 bytes, longer than the limit of 1024")},
		{name: "receiver/binary mode invalid UTF-8 ce-id", deliver: func(e *hostileEnv) delivery {
			h := http.Header{}
			h.Set("Ce-Specversion", "1.0")
			h.Set("Ce-Id", "id-\xff\xfe")
			h.Set("Ce-Source", "/hostile")
			h.Set("Ce-Type", "org.pacifica.metadata.orm")
			return delivery{contentType: jsonCT, header: h, body: []byte(`[]`)}
		}, want: bad(400, "id: not valid UTF-8")},
		// Invalid UTF-8 inside strings is replaced (U+FFFD) by JSON decoding: accepted.
		{name: "receiver/invalid UTF-8 in eventID string", deliver: func(e *hostileEnv) delivery {
			b := bytes.Replace(e.event(setKV("proxymod.configs_count", "0")), []byte(`"eventID":"hostile-`), []byte("\"eventID\":\"\xff\xfehostile-"), 1)
			return delivery{contentType: jsonCT, body: b}
		}, want: accepted("unrouted", "event document: jsonpath2: decode: invalid UTF-8")},
		// Data of the wrong shape: well-formed events, so accepted; no route wants them.
		{name: "receiver/data string", deliver: raw(envelope("data-string", `"not a list"`)), want: accepted("unrouted")},
		{name: "receiver/data number", deliver: raw(envelope("data-number", `12`)), want: accepted("unrouted")},
		{name: "receiver/data object", deliver: raw(envelope("data-object", `{"a":[1,2]}`)), want: accepted("unrouted")},
		{name: "receiver/data list of junk", deliver: raw(envelope("data-junk", `[1,"x",null,[],{}]`)), want: accepted("unrouted")},
		{name: "receiver/wrong types in Files", deliver: edited(func(m map[string]any) {
			f := fileEntry(m, "loose_coupling.py")
			f["size"] = "1352"
		}), want: accepted("failed", "invalid event", "size: want an integer")},
		{name: "receiver/key/value value object", deliver: edited(setKV("proxymod.configs_count", map[string]any{"n": 3})),
			want: accepted("failed", "invalid event", "want a string or a number")},
		// Size and depth.
		{name: "receiver/body over MAX_EVENT_BYTES", deliver: func(e *hostileEnv) delivery {
			return delivery{contentType: jsonCT, body: []byte(envelope("huge", `"`+strings.Repeat("a", 9<<20)+`"`))}
		}, want: bad(413, "limit")},
		{name: "receiver/100000 nested lists in data", deliver: raw(envelope("deep-100000", nested(100000))), want: bad(400, "depth")},
		{name: "receiver/100000 nested lists as body", deliver: raw(nested(100000)), want: bad(400)},
		{name: "receiver/100000 nested objects in data", deliver: raw(envelope("deep-objects",
			strings.Repeat(`{"a":`, 100000)+"1"+strings.Repeat("}", 100000))), want: bad(400, "depth")},
		{name: "receiver/5000 nested lists in data", deliver: raw(envelope("deep-5000", nested(5000))), want: accepted("unrouted")},
		{name: "receiver/thousands of model files", deliver: edited(func(m map[string]any) {
			var fs []map[string]any
			for i := range 3000 {
				fs = append(fs, map[string]any{"destinationTable": "Files", "_id": 100000 + i, "name": fmt.Sprintf("m%04d.py", i),
					"subdir": "models/", "size": 10, "hashtype": "sha1", "hashsum": strings.Repeat("0", 40), "mimetype": "text/x-python"})
			}
			addEntries(fs...)(m)
		}), want: accepted("failed", `event does not match Pacifica metadata: file 100000: event says "models/m0000.py", metadata has none`)},
		{name: "receiver/thousands of other files", slow: true, deliver: edited(func(m map[string]any) {
			var fs []map[string]any
			for i := range 5000 {
				fs = append(fs, map[string]any{"destinationTable": "Files", "_id": 100000 + i, "name": fmt.Sprintf("f%04d.csv", i),
					"subdir": "bulk/", "size": 10, "hashtype": "sha1", "hashsum": strings.Repeat("0", 40), "mimetype": "text/csv"})
			}
			addEntries(fs...)(m)
		}), want: accepted("failed", `event does not match Pacifica metadata: file 100000: event says "bulk/f0000.csv", metadata has none`)},
		{name: "receiver/configs_count 1000000", deliver: confirmed(setKV("proxymod.configs_count", "1000000")),
			want: accepted("failed", "proxymod.configs_count 1000000 is more than 1000")},
		{name: "receiver/1000 proxymod configurations", deliver: confirmed(func(m map[string]any) {
			setKV("proxymod.configs_count", "1000")(m)
			for i := 4; i <= 1000; i++ {
				for k, v := range map[string]string{"PROJECT.runtime": "1", "PROJECT.failure": "0", "OUTPUTS.out_dir": "outputs/"} {
					setKV(fmt.Sprintf("proxymod.config_%d.%s", i, k), v)(m)
				}
			}
		}), want: hostileWant{code: http.StatusAccepted, state: "succeeded", check: func(t *testing.T, e *hostileEnv, r *hostileResult) {
			files := e.resultFiles(t, r.jobs[0])
			if files["config_1000.ini"] == "" || files["config_1.ini"] == "" {
				t.Errorf("the result lacks the 1000 configurations (%d files)", len(files))
			}
		}}},
		// Content types.
		{name: "receiver/text/plain", deliver: func(e *hostileEnv) delivery {
			return delivery{contentType: "text/plain", body: e.event()}
		}, want: bad(415)},
		{name: "receiver/application/xml", deliver: func(e *hostileEnv) delivery {
			return delivery{contentType: "application/xml", body: []byte(`<event/>`)}
		}, want: bad(415)},
		{name: "receiver/multipart form", deliver: func(e *hostileEnv) delivery {
			return delivery{contentType: "multipart/form-data; boundary=x", body: []byte("--x\r\n\r\n--x--\r\n")}
		}, want: bad(415)},
		{name: "receiver/unparsable content type", deliver: func(e *hostileEnv) delivery {
			return delivery{contentType: "application/json; charset", body: e.event()}
		}, want: bad(415)},
		{name: "receiver/no content type", deliver: func(e *hostileEnv) delivery {
			return delivery{body: e.confirmed(setKV("proxymod.configs_count", "0"))}
		}, want: accepted("failed", "proxymod.configs_count must be a positive integer")},
		// CloudEvents 1.0 forms.
		{name: "receiver/CE 1.0 id number", deliver: func(e *hostileEnv) delivery {
			return delivery{contentType: "application/cloudevents+json", body: []byte(`{"specversion":"1.0","id":5,"source":"/s","type":"t"}`)}
		}, want: bad(400)},
		{name: "receiver/CE batch with a bad event", deliver: func(e *hostileEnv) delivery {
			return delivery{contentType: "application/cloudevents-batch+json", body: []byte(`[{"specversion":"1.0","id":"a","source":"/s","type":"t"},{"specversion":"1.0"}]`)}
		}, want: bad(400, "batch event 1")},
		{name: "receiver/CE batch of 1000 events", slow: true, deliver: ceBatch("batch", 1000),
			want: hostileWant{code: http.StatusAccepted, state: "unrouted", sample: 5}},
		// Over MAX_BATCH_EVENTS: refused before any is stored (it was 33k rows stored, then a
		// 503). Pacifica never sends batches, so a 4xx disables nothing.
		{name: "receiver/CE batch of 20000 events", deliver: ceBatch("big-batch", 20000),
			want: bad(413, "the batch holds 20000 events, more than the limit of 1000")},
		// Dense data decodes to many times its size: recorded unrouted, not decoded.
		{name: "receiver/7 MiB of small objects", deliver: raw(envelope("small-objects", "["+strings.Repeat(`{"a":0},`, 900<<10)+`{}]`)),
			want: accepted("unrouted", "not routed: the event document is too costly to decode for routing")},
		// Eight dense events at once (the attack took the receiver to 1.66 GB and all eight
		// were answered 503): every one answered 202, recorded unrouted.
		{name: "receiver/8 large events at once", deliver: raw(envelope("large-0", "["+strings.Repeat(`{"a":0},`, 900<<10)+`{}]`)),
			want: hostileWant{code: http.StatusAccepted, state: "unrouted", check: func(t *testing.T, e *hostileEnv, _ *hostileResult) {
				codes := make(chan int, 8)
				for i := range 8 {
					go func() {
						req, err := http.NewRequest(http.MethodPost, e.h.base+"/receive", strings.NewReader(
							envelope(fmt.Sprintf("large-%d", i+1), "["+strings.Repeat(`{"a":0},`, 900<<10)+`{}]`)))
						if err != nil {
							codes <- 0
							return
						}
						req.Header.Set("Content-Type", jsonCT)
						e.h.senderAuth(req)
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							codes <- 0
							return
						}
						resp.Body.Close()
						codes <- resp.StatusCode
					}()
				}
				for range 8 {
					if c := <-codes; c != http.StatusAccepted {
						t.Errorf("a large event answered %d, want 202", c)
					}
				}
			}}},
		// Three times MAX_CONNECTIONS (200 here) idle keep-alive connections: the longest-idle
		// are closed to make room, and the delivery and /healthz are answered.
		{name: "receiver/idle connection flood", setup: func(e *hostileEnv) func() {
			conns := idleFlood(e.t, e.h.base, 3*e.h.cfg.MaxConnections)
			return func() {
				for _, c := range conns {
					c.Close()
				}
			}
		}, deliver: edited(setKV("proxymod.task", "rest")), want: accepted("unrouted")},
		// The proxymod filter compares every CSV file with every key/value: 14 events of 2000
		// CSV files cost seconds each before routing was bounded. The batch's budget is spent
		// by the first few; every event is accepted, unrouted, with the reason.
		{name: "receiver/CE batch of costly proxymod events", deliver: func(e *hostileEnv) delivery {
			// The CSV entries come first: the existence tests stop at the sample's own files.
			data := e.event(func(m map[string]any) {
				var entries []any
				for _, f := range csvFiles(2000) {
					entries = append(entries, f)
				}
				m["data"] = append(entries, m["data"].([]any)...)
			})
			m := decodeNumbers(e.t, data)
			var b strings.Builder
			b.WriteString("[")
			d, _ := json.Marshal(m["data"])
			for i := range 14 {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, `{"specversion":"1.0","id":"costly-%d","source":"/hostile/costly","type":"org.pacifica.metadata.ingest",`+
					`"datacontenttype":"application/json","data":%s}`, i, d)
			}
			b.WriteString("]")
			return delivery{contentType: "application/cloudevents-batch+json", body: []byte(b.String())}
		}, want: hostileWant{code: http.StatusAccepted, state: "unrouted", errHas: []string{"not routed:"}}},
		{name: "receiver/CE empty batch", deliver: func(e *hostileEnv) delivery {
			return delivery{contentType: "application/cloudevents-batch+json", body: []byte(`[]`)}
		}, want: bad(400, "empty batch")},
		{name: "receiver/duplicate keys", deliver: func(e *hostileEnv) delivery {
			b := bytes.Replace(e.confirmed(setKV("proxymod.configs_count", "0")), []byte(`{`), []byte(`{"eventID":"first-of-two",`), 1)
			return delivery{contentType: jsonCT, body: b}
		}, want: accepted("failed", "proxymod.configs_count must be a positive integer")},
	}
	return cases
}
