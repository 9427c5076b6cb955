// Package pacifica holds the clients of the Pacifica services the dispatcher talks to —
// cartd (downloads), ingest (uploads), notifications (subscriptions) and metadata (what
// Pacifica knows about a transaction, against which ingest events are checked) — and their
// configuration, read from the same environment variables as the Pacifica CLI and the
// Python dispatchers (UPLOAD_URL, DOWNLOAD_URL, AUTHENTICATION_TYPE, CA_BUNDLE, ...).
package pacifica
