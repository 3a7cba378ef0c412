package dockerapi

import "io"

// DetachReader passes r's bytes through until the detach key sequence, then
// calls onDetach and ends with io.EOF: docker attach's ctrl-p ctrl-q, for
// the other front ends of a TTY session, such as the dashboard's terminal.
func DetachReader(r io.Reader, keys []byte, onDetach func()) io.Reader {
	return &detachReader{r: r, keys: keys, onDetach: onDetach}
}

// DefaultDetachKeys are docker's: ctrl-p ctrl-q.
func DefaultDetachKeys() []byte {
	keys, _ := parseDetachKeys("")
	return keys
}
