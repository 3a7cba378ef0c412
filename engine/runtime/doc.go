// Package runtime runs container processes: skiff's own code on
// golang.org/x/sys, with no runc, crun or containerd binary.
//
// The API (Start, Exec, the re-exec roles) is being written; see spec.go for
// the Spec every part agrees on.
package runtime
