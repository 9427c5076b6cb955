// Package event is the dispatcher's event model: it reads the events Pacifica notifications
// delivers (CloudEvents 0.1 JSON, which the CloudEvents Go SDK does not read) and the
// events of CloudEvents 1.0 and 0.3 clients (binary, structured and batch modes, through the
// SDK), and normalises them to one type that keeps the original bytes.
//
// ParseIngest gives typed views of an ingest event's data — the transaction, its
// key/values, its files — and validates them so that nothing downstream can be led astray:
// a file path that escapes its directory, two files at one path, or a key/value that would
// inject lines into a configuration file make the event invalid (ErrInvalid), with an error
// that names the file or the key.
package event
