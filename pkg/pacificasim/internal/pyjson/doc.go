// Package pyjson reads JSON keeping the order of object keys and writes it the way Python's
// json.dumps does by default: ", " and ": " separators and every character outside printable
// ASCII escaped (ensure_ascii). Pacifica's services are Python programs, so the simulator
// writes its bodies, and above all the events it delivers, in that form.
package pyjson
