package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"
	"unicode"
)

// Keywords of docker's --format flag.
const (
	tableFormat = "table" // "table" or "table TEMPLATE": aligned columns under a header
	jsonFormat  = "json"  // one JSON object per line
)

// outputFormat is a --format value parsed the way docker does: "table",
// "table TEMPLATE", "json", or a bare Go template executed once per row.
type outputFormat struct {
	template string // the per-row template, with \t and \n escapes resolved
	table    bool
}

// listFormat is the format of a list command: quietFormat with -q, the
// user's --format unless it is "" or a bare "table", else table.
func listFormat(quiet bool, custom, quietFormat, table string) outputFormat {
	switch {
	case quiet:
		return parseOutputFormat(quietFormat)
	case custom != "" && custom != tableFormat:
		return parseOutputFormat(custom)
	}
	return parseOutputFormat(table)
}

// parseOutputFormat parses a complete format; callers substitute their
// default for "" and for a bare "table" first.
func parseOutputFormat(format string) outputFormat {
	var f outputFormat
	switch {
	case format == jsonFormat:
		f.template = "{{json .}}"
	case strings.HasPrefix(format, tableFormat):
		f.table = true
		f.template = format[len(tableFormat):]
	default:
		f.template = format
	}
	f.template = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(strings.Trim(f.template, " "))
	return f
}

// writeRows executes the format once per row and writes the results, one
// per line. Tables get a header line — the template executed over headers,
// a map from field name to column title (or a map type adding methods such
// as labelHeaders) — and tabwriter alignment with docker's settings; a
// table with no rows is just its header.
func writeRows[Row any](out io.Writer, f outputFormat, headers any, rows []Row) error {
	tmpl, err := parseTemplate(f.template)
	if err != nil {
		return err
	}
	var body bytes.Buffer
	for _, row := range rows {
		if err := tmpl.Execute(&body, row); err != nil {
			return fmt.Errorf("template parsing error: %w", err)
		}
		body.WriteByte('\n')
	}
	if !f.table {
		_, err := body.WriteTo(out)
		return err
	}
	tw := tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
	// A header that fails to render (e.g. a function applied to a field
	// that is not a string) is left out, as docker does.
	_ = tmpl.Funcs(headerFuncs).Execute(tw, headers)
	fmt.Fprintln(tw)
	if _, err := body.WriteTo(tw); err != nil {
		return err
	}
	return tw.Flush()
}

// parseTemplate parses a user template with docker's template functions.
func parseTemplate(text string) (*template.Template, error) {
	tmpl, err := template.New("").Funcs(templateFuncs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template parsing error: %w", err)
	}
	return tmpl, nil
}

// parseUserTemplate parses the template of an inspect-style --format flag;
// one that does not parse is a usage error (exit status 64), as with docker.
func parseUserTemplate(text string) (*template.Template, error) {
	tmpl, err := parseTemplate(text)
	if err != nil {
		return nil, statusError{code: exitBadTemplate, message: err.Error()}
	}
	return tmpl, nil
}

// templateFuncs are the functions docker offers in every --format template.
var templateFuncs = template.FuncMap{
	"json":     jsonString,
	"split":    strings.Split,
	"join":     strings.Join,
	"title":    titleCase,
	"lower":    strings.ToLower,
	"upper":    strings.ToUpper,
	"pad":      padWithSpace,
	"truncate": truncateString,
}

// labelHeaders are the column titles of rows that offer {{.Label "key"}}:
// its title is the key's last dot-separated part, as docker shows it.
type labelHeaders map[string]string

func (labelHeaders) Label(name string) string {
	parts := strings.Split(name, ".")
	return parts[len(parts)-1]
}

// headerFuncs replace templateFuncs when rendering a table header, so that
// functions applied to a column leave its title intact.
var headerFuncs = template.FuncMap{
	"json":     func(v string) string { return v },
	"split":    func(v, _ string) string { return v },
	"join":     func(v, _ string) string { return v },
	"title":    func(v string) string { return v },
	"lower":    func(v string) string { return v },
	"upper":    func(v string) string { return v },
	"truncate": func(v string, _ int) string { return v },
}

// jsonString encodes v as one line of JSON, without HTML escaping.
func jsonString(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSpace(buf.String()), nil
}

// titleCase upper-cases the first letter of every word.
func titleCase(s string) string {
	previous := ' '
	return strings.Map(func(r rune) rune {
		startsWord := unicode.IsSpace(previous)
		previous = r
		if startsWord {
			return unicode.ToTitle(r)
		}
		return r
	}, s)
}

// padWithSpace surrounds a non-empty s with prefix and suffix spaces.
func padWithSpace(s string, prefix, suffix int) string {
	if s == "" {
		return s
	}
	return strings.Repeat(" ", prefix) + s + strings.Repeat(" ", suffix)
}

// truncateString keeps the first n bytes of s.
func truncateString(s string, n int) string {
	if len(s) < n {
		return s
	}
	return s[:n]
}

// ellipsis shortens s to at most width runes, the last being "…".
func ellipsis(s string, width int) string {
	runes := []rune(s)
	if len(runes) <= width {
		return s
	}
	if width <= 1 {
		return string(runes[:width])
	}
	return string(runes[:width-1]) + "…"
}

// shortID is the 12-hex-digit form of an image or layer ID, as docker shows it.
func shortID(id string) string {
	if _, hex, found := strings.Cut(id, ":"); found {
		id = hex
	}
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}
