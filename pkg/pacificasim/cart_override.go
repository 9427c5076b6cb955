package pacificasim

import (
	"io"
	"os"
)

// CartOverride makes cartd misbehave in ways a Fault cannot, for tests of a broken or
// hostile Pacifica: carts that never leave staging, and downloads whose tar the test writes
// itself (entries with "..", absolute names, links, devices, files not asked for, wrong
// sizes or contents). The zero value is cartd's normal behaviour.
type CartOverride struct {
	// Stuck keeps every cart created from now on in state "staging" for ever: HEAD keeps
	// answering 204 with X-Pacifica-Status staging, GET answers 202 "not ready".
	Stuck bool
	// Tar, when set, writes the body of every download of a ready cart instead of the
	// simulator's tar. It gets what the simulator would have put in it.
	Tar func(w io.Writer, c CartContent) error
}

// CartContent is what a cart download holds: the tar's top directory (the filename
// parameter without ".tar") and the files, in request order.
type CartContent struct {
	Top   string
	Files []CartContentFile
}

// CartContentFile is one file of a cart: its cleaned path inside the cart (as the client
// asked for it) and its archived content.
type CartContentFile struct {
	Path string
	Size int64
	// Archive is the archived file on disk; Open reads it.
	Archive string
}

// Open opens the archived content of the file.
func (f CartContentFile) Open() (*os.File, error) { return os.Open(f.Archive) }

// SetCartOverride makes cartd behave as o says until it is set again (the zero
// CartOverride restores the normal behaviour). Stuck applies to carts created afterwards.
func (s *Sim) SetCartOverride(o CartOverride) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cartOverride = o
}

func (s *Sim) currentCartOverride() CartOverride {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cartOverride
}

func cartContent(top string, entries []tarEntry) CartContent {
	c := CartContent{Top: top}
	for _, e := range entries {
		c.Files = append(c.Files, CartContentFile{Path: e.name, Size: e.file.size, Archive: e.file.path})
	}
	return c
}
