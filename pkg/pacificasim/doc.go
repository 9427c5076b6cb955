// Package pacificasim simulates a Pacifica site in one process: cartd (downloads), ingest
// (uploads), notifications (subscriptions and event delivery) and a read-only subset of the
// metadata service, each behind its own http.Handler and base URL, on loopback.
//
// The simulator follows Pacifica's wire protocols as the Python services of 2019–2020
// implement them: status codes, headers, bodies in Python's JSON form (", " and ": "
// separators, non-ASCII escaped), the error body {"status", "message", "traceback",
// "version"}, and their failure modes:
//
//   - cartd: carts stay "staging" for Config.StagingDelay, then every file is re-hashed
//     from the archive; a mismatch or an unknown file id puts the cart in "error". Downloads
//     are uncompressed tar streams with directory entries, read from disk.
//   - ingest: an upload (Content-Type application/octet-stream; a form type answers 500)
//     is read as a stream, each tar entry written to disk while it is hashed, and answered
//     with the job state; the job then advances through UPLOADING, open tar, load metadata,
//     Policy Validation, ingest files and ingest metadata, Config.IngestStepDelay apart, and
//     fails (state FAILED, an exception text) in the step where Pacifica fails. The job id
//     is the new transaction's id. On success the transaction is stored and only then the
//     ingest event is built, exactly as Pacifica's metadata service builds it, and handed to
//     notifications.
//   - notifications: /eventmatch subscriptions per user (header Http-Remote-User), jsonpath2
//     filters, POST /receive, delivery with the subscription's extensions and auth, and the
//     rule that any 4xx, 5xx or connection error disables the subscription, without retry.
//   - metadata: GET /transactioninfo/by_id/<id>, the real service's whole view of a
//     transaction (files keyed by id, key/values as strings, 404 for an unknown id, "400
//     Invalid Transaction ID" for one that is not a number); and GET /transactions, /files
//     and /trans_key_value, a simplified subset with flat shapes (key/values keep their JSON
//     type instead of pointing at the Keys and Values tables). It is read-only.
//
// Serve runs the four services on their own listeners (Addrs tells the ports chosen for
// port 0); each handler also works on its own, e.g. under httptest. Tests reach into the
// simulator with Job and WaitJob, Transactions and Transaction, Subscriptions, Events and
// WaitEvents, Deliveries and WaitDeliveries, make a service misbehave with SetFault (a
// status, a hang, a garbage body, on one path or all), and make cartd hostile with
// SetCartOverride (carts stuck in staging, downloads whose tar the test crafts).
//
// Where the simulator knowingly departs from the Python services:
//
//   - cartd answers 500 to every bad cart body (CherryPy answers 400 to one that is not
//     JSON), and has no "bundle" mode: the top directory of a download is always the
//     filename parameter without ".tar".
//   - A PUT to /eventmatch changes only the keys it gives (Pacifica's resets extensions
//     when a PUT leaves them out); keys the server sets (uuid, user, created, ...) are
//     ignored in bodies.
//   - The policy service is modelled by Config.IngestPolicy for uploads and
//     Config.AdminUsers for events; each subscription receives its events in order, and a
//     delivery queued before its subscription was disabled or deleted is dropped.
//
// State lives in memory; archived files live under Config.DataDir. A simulator that is
// started again begins empty.
package pacificasim
