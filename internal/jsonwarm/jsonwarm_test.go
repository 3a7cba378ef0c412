package jsonwarm

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

type (
	leaf struct{ N int }
	node struct {
		Next     *node           // a cycle
		Leaves   []leaf          // through a slice
		ByName   map[string]leaf // through a map's values
		Fixed    [2]*leaf        // through an array of pointers
		Any      any             // not followed: its type is not known
		private  hidden          // unexported: encoding/json ignores it
		Embedded                 // an exported embedded struct is a field
	}
	hidden   struct{ X int }
	Embedded struct{ Y int }
)

func TestStructTypes(t *testing.T) {
	got := structTypes(reflect.TypeFor[*node]())
	want := []reflect.Type{
		reflect.TypeFor[node](), reflect.TypeFor[leaf](), reflect.TypeFor[Embedded](),
	}
	byName := func(a, b reflect.Type) int { return strings.Compare(a.String(), b.String()) }
	slices.SortFunc(got, byName)
	slices.SortFunc(want, byName)
	if !slices.Equal(got, want) {
		t.Errorf("structTypes = %v, want %v", got, want)
	}
}

// Warm walks a cyclic type graph, and values of its types still make the
// round trip.
func TestWarm(t *testing.T) {
	Warm(node{}, leaf{})
	in := node{Next: &node{Leaves: []leaf{{1}}}, ByName: map[string]leaf{"a": {2}}, Embedded: Embedded{3}, private: hidden{4}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out node
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	in.private = hidden{}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip: %+v, want %+v", out, in)
	}
}
