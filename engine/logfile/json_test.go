package logfile

import (
	"encoding/json"
	"testing"
	"time"
)

func TestAppendRecordGolden(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		log    string
		time   time.Time
		want   string
	}{
		{
			// A line as Docker's json-file driver writes it.
			name:   "docker line",
			stream: "stdout",
			log:    "hello world\n",
			time:   time.Date(2024, 2, 27, 10, 11, 12, 123456789, time.UTC),
			want:   `{"log":"hello world\n","stream":"stdout","time":"2024-02-27T10:11:12.123456789Z"}` + "\n",
		},
		{
			name:   "partial line, trailing zeros trimmed",
			stream: "stderr",
			log:    "$ ",
			time:   time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.UTC),
			want:   `{"log":"$ ","stream":"stderr","time":"2026-01-02T03:04:05.12Z"}` + "\n",
		},
		{
			name:   "whole second, local time written as UTC",
			stream: "stdout",
			log:    "x\n",
			time:   time.Date(2026, 1, 2, 4, 4, 5, 0, time.FixedZone("CET", 3600)),
			want:   `{"log":"x\n","stream":"stdout","time":"2026-01-02T03:04:05Z"}` + "\n",
		},
		{
			name:   "escaped",
			stream: "stdout",
			log:    "\x1b[1m\"bold\"\x1b[0m\t<&>\n",
			time:   time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
			want:   `{"log":"\u001b[1m\"bold\"\u001b[0m\t\u003c\u0026\u003e\n","stream":"stdout","time":"2026-01-02T03:04:05.000000006Z"}` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendRecord(nil, tt.stream, []byte(tt.log), tt.time))
			if got != tt.want {
				t.Errorf("record:\n got %s\nwant %s", got, tt.want)
			}
			e, err := decodeEntry([]byte(got[:len(got)-1]))
			if err != nil {
				t.Fatal(err)
			}
			if string(e.Line) != tt.log || e.Stream != tt.stream || !e.Time.Equal(tt.time) {
				t.Errorf("decoded %+v, want %q %q %v", e, tt.stream, tt.log, tt.time)
			}
		})
	}
}

func TestAppendJSONString(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plain", "hello", `"hello"`},
		{"empty", "", `""`},
		{"short escapes", "\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"other controls", "\x00\x01\x1b\x1f", `"\u0000\u0001\u001b\u001f"`},
		{"delete is not escaped", "\x7f", "\"\x7f\""},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"html", "<a&b>", `"\u003ca\u0026b\u003e"`},
		{"utf-8", "héllo 世界 🚀", `"héllo 世界 🚀"`},
		{"invalid bytes", "a\xffb\xfe", `"a\ufffdb\ufffd"`},
		{"truncated sequence", "\xe4\xb8", `"\ufffd\ufffd"`},
		{"line separators", "\u2028\u2029", `"\u2028\u2029"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendJSONString(nil, []byte(tt.in)))
			if got != tt.want {
				t.Errorf("appendJSONString(%q) = %s, want %s", tt.in, got, tt.want)
			}
			if std := marshalString(t, tt.in); got != std {
				t.Errorf("appendJSONString(%q) = %s, json.Marshal gives %s", tt.in, got, std)
			}
		})
	}
}

// FuzzAppendJSONString checks that appendJSONString agrees with json.Marshal.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\n", "\x00\xff\u2028<>&\"\\", "世界\xe4\xb8", "\t\b\f\r"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if got, want := string(appendJSONString(nil, in)), marshalString(t, string(in)); got != want {
			t.Errorf("appendJSONString(%q) = %s, json.Marshal gives %s", in, got, want)
		}
	})
}

func marshalString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
