package cli

import (
	"strings"
	"testing"
)

func TestParseOutputFormat(t *testing.T) {
	tests := []struct {
		format string
		want   outputFormat
	}{
		{format: "json", want: outputFormat{template: "{{json .}}"}},
		{format: `table {{.ID}}\t{{.Size}}`, want: outputFormat{template: "{{.ID}}\t{{.Size}}", table: true}},
		{format: `{{.ID}}\n`, want: outputFormat{template: "{{.ID}}\n"}},
		{format: "  {{.ID}}  ", want: outputFormat{template: "{{.ID}}"}},
	}
	for _, tt := range tests {
		if got := parseOutputFormat(tt.format); got != tt.want {
			t.Errorf("parseOutputFormat(%q) = %+v, want %+v", tt.format, got, tt.want)
		}
	}
}

type testRow struct{ name, size string }

func (r testRow) Name() string { return r.name }
func (r testRow) Size() string { return r.size }

func TestWriteRows(t *testing.T) {
	headers := map[string]string{"Name": "NAME", "Size": "SIZE"}
	rows := []testRow{{"a", "1B"}, {"much-longer-name", "22kB"}}
	tests := []struct {
		format string
		rows   []testRow
		want   string
	}{
		{
			format: `table {{.Name}}\t{{.Size}}`,
			rows:   rows,
			want:   "NAME               SIZE\na                  1B\nmuch-longer-name   22kB\n",
		},
		{
			// Functions leave the header alone.
			format: `table {{upper .Name}}\t{{truncate .Size 1}}`,
			rows:   rows,
			want:   "NAME               SIZE\nA                  1\nMUCH-LONGER-NAME   2\n",
		},
		{
			format: `table {{.Name}}`,
			rows:   nil,
			want:   "NAME\n",
		},
		{
			format: `{{.Name}}={{pad .Size 1 0}}`,
			rows:   rows,
			want:   "a= 1B\nmuch-longer-name= 22kB\n",
		},
		{
			format: `{{.Name}}`,
			rows:   nil,
			want:   "",
		},
	}
	for _, tt := range tests {
		var out strings.Builder
		if err := writeRows(&out, parseOutputFormat(tt.format), headers, tt.rows); err != nil {
			t.Errorf("%s: %v", tt.format, err)
			continue
		}
		if out.String() != tt.want {
			t.Errorf("%s: got\n%q\nwant\n%q", tt.format, out.String(), tt.want)
		}
	}
}

func TestWriteRowsTemplateErrors(t *testing.T) {
	var out strings.Builder
	err := writeRows(&out, parseOutputFormat("{{.Missing}}"), nil, []testRow{{}})
	if err == nil || !strings.HasPrefix(err.Error(), "template parsing error: ") {
		t.Errorf("error = %v, want a template error", err)
	}
}

func TestEllipsis(t *testing.T) {
	tests := []struct {
		in    string
		width int
		want  string
	}{
		{"short", 45, "short"},
		{"exactly5", 8, "exactly5"},
		{"toolongtext", 8, "toolong…"},
		{"héllo wörld", 6, "héllo…"},
		{"ab", 1, "a"},
	}
	for _, tt := range tests {
		if got := ellipsis(tt.in, tt.width); got != tt.want {
			t.Errorf("ellipsis(%q, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
		}
	}
}

func TestShortID(t *testing.T) {
	for in, want := range map[string]string{
		sha("a"):         "aaaaaaaaaaaa",
		"0123456789abcd": "0123456789ab",
		"<missing>":      "<missing>",
		"":               "",
	} {
		if got := shortID(in); got != want {
			t.Errorf("shortID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTitleCase(t *testing.T) {
	if got := titleCase("hello big  world"); got != "Hello Big  World" {
		t.Errorf("titleCase = %q", got)
	}
}
