package runtime

import (
	"encoding/json"
	"reflect"
	"testing"
)

// Messages cross the sync socket whole: the spec beside the JSON object,
// and a message without one unchanged.
func TestSyncMessages(t *testing.T) {
	parent, child, err := newSyncPair()
	if err != nil {
		t.Fatal(err)
	}
	a, b := syncConn{parent}, syncConn{child}
	defer a.close()
	defer b.close()

	spec, err := json.Marshal(Spec{ID: "c1", Process: Process{Args: []string{"sh", "-c", "echo 'two\nlines'"}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []message{
		{Type: msgSpec, Spec: spec, Console: true, Stdio: true},
		{Type: msgError, Error: &wireError{Class: classNotFound, Message: "no\nsuch file"}},
		{Type: msgResume},
	}
	for _, want := range tests {
		if err := a.send(want); err != nil {
			t.Fatal(err)
		}
		got, fds, err := b.recv()
		if err != nil {
			t.Fatal(err)
		}
		closeAll(fds)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("received %+v, want %+v", got, want)
		}
	}
}
