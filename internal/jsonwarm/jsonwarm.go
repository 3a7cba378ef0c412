// Package jsonwarm builds encoding/json's per-type caches ahead of use.
//
// encoding/json works out how to encode and decode a type the first time
// it meets it, and keeps that. For a configuration of many nested structs
// the first Unmarshal in a fresh process costs several times the next ones
// (200-290 µs against 30 for a container monitor's configuration). A
// process that knows what it will read, and waits for it first (a
// container's init started ahead of its container), warms those caches
// while it waits. They take memory for the life of the process: a
// process that stays (a monitor, under 5 MB) had better not.
package jsonwarm

import (
	"encoding/json"
	"reflect"
)

// Warm prepares encoding/json to encode and decode values of the types of
// vs, and of every struct type they hold.
func Warm(vs ...any) {
	for _, v := range vs {
		t := reflect.TypeOf(v)
		// Marshal builds the encoders of every type below t at once.
		_, _ = json.Marshal(reflect.New(t).Interface())
		for _, st := range structTypes(t) {
			// Unmarshal looks up a struct's fields as it meets an
			// object of its type: an empty one is enough.
			_ = json.Unmarshal([]byte("{}"), reflect.New(st).Interface())
		}
	}
}

// structTypes returns the struct types t is or holds through pointers,
// slices, arrays and map values, each once.
func structTypes(t reflect.Type) []reflect.Type {
	var out []reflect.Type
	seen := make(map[reflect.Type]bool)
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		if seen[t] {
			return
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
			walk(t.Elem()) // a map's keys are strings, numbers or TextUnmarshalers
		case reflect.Struct:
			out = append(out, t)
			for i := range t.NumField() {
				if f := t.Field(i); f.IsExported() || f.Anonymous { // an embedded struct's fields are promoted
					walk(f.Type)
				}
			}
		}
	}
	walk(t)
	return out
}
