package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/template"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// Object types `inspect --type` accepts.
const (
	objectContainer = "container"
	objectImage     = "image"
)

type inspectOptions struct {
	names      []string
	format     string
	objectType string // "" searches containers, then images
	size       bool
}

func newInspectCommand(cc *cliContext) *cobra.Command {
	var opts inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NAME|ID [NAME|ID...]",
		Short: "Return low-level information on skiff objects",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.names = args
			if cmd.Flags().Changed("type") && opts.objectType == "" {
				return fmt.Errorf("type is empty: must be one of %q, %q", objectContainer, objectImage)
			}
			return runInspect(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.format, "format", "f", "", inspectFormatHelp)
	flags.StringVar(&opts.objectType, "type", "", "Only inspect objects of the given type")
	flags.BoolVarP(&opts.size, "size", "s", false, "Display total file sizes if the type is container")
	return cmd
}

// newImageInspectCommand is `skiff image inspect`: inspect limited to images.
func newImageInspectCommand(cc *cliContext) *cobra.Command {
	opts := inspectOptions{objectType: objectImage}
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short: "Display detailed information on one or more images",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.names = args
			return runInspect(cmd.Context(), cc, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", inspectFormatHelp)
	return cmd
}

const inspectFormatHelp = `Format output using a custom template:
'json':             Print in JSON format
'TEMPLATE':         Print output using the given Go template`

// runInspect prints every named object found, then fails with the errors
// for those that were not.
func runInspect(ctx context.Context, cc *cliContext, opts inspectOptions) error {
	finders, err := objectFinders(opts)
	if err != nil {
		return err
	}
	printer, err := newInspectPrinter(opts.format)
	if err != nil {
		return err
	}
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	var failures []error
	for _, name := range opts.names {
		object, err := findObject(ctx, api, name, finders)
		if err == nil {
			err = printer.add(object)
			if object.kind != objectContainer && opts.size {
				fmt.Fprintln(cc.stderr, "WARNING: --size ignored for", object.kind)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failures = append(failures, err)
		}
	}
	if err := printer.flush(cc.stdout); err != nil {
		return err
	}
	return errors.Join(failures...)
}

// inspectedObject is one object found by inspect: its typed form, for
// templates, and the daemon's JSON, printed as is.
type inspectedObject struct {
	kind  string
	typed any
	raw   []byte
}

// objectFinder looks a name up among one kind of object.
type objectFinder struct {
	kind string
	find func(ctx context.Context, api *client.Client, name string) (inspectedObject, error)
}

// objectFinders lists, in search order, where inspect looks for names.
func objectFinders(opts inspectOptions) ([]objectFinder, error) {
	containers := objectFinder{kind: objectContainer, find: containerFinder(opts.size)}
	images := objectFinder{kind: objectImage, find: findImage}
	switch opts.objectType {
	case "":
		return []objectFinder{containers, images}, nil
	case objectContainer:
		return []objectFinder{containers}, nil
	case objectImage:
		return []objectFinder{images}, nil
	}
	return nil, fmt.Errorf("unknown type: %q: must be one of %q, %q", opts.objectType, objectContainer, objectImage)
}

func containerFinder(withSize bool) func(context.Context, *client.Client, string) (inspectedObject, error) {
	return func(ctx context.Context, api *client.Client, name string) (inspectedObject, error) {
		res, err := api.ContainerInspect(ctx, name, client.ContainerInspectOptions{Size: withSize})
		if err != nil {
			return inspectedObject{}, err
		}
		return inspectedObject{kind: objectContainer, typed: res.Container, raw: res.Raw}, nil
	}
}

func findImage(ctx context.Context, api *client.Client, name string) (inspectedObject, error) {
	var raw bytes.Buffer
	res, err := api.ImageInspect(ctx, name, client.ImageInspectWithRawResponse(&raw))
	if err != nil {
		return inspectedObject{}, err
	}
	return inspectedObject{kind: objectImage, typed: res.InspectResponse, raw: raw.Bytes()}, nil
}

// findObject tries each finder in turn. With a single finder (--type) its
// error is returned as is; when searching several kinds, a name none of them
// knows is reported as docker does: "Error: No such object: NAME".
func findObject(ctx context.Context, api *client.Client, name string, finders []objectFinder) (inspectedObject, error) {
	if len(finders) == 1 {
		return finders[0].find(ctx, api, name)
	}
	for _, finder := range finders {
		object, err := finder.find(ctx, api, name)
		if err == nil {
			return object, nil
		}
		if !isNotThisKind(err) {
			return inspectedObject{}, err
		}
	}
	return inspectedObject{}, fmt.Errorf("Error: No such object: %s", name)
}

// isNotThisKind reports an error meaning "no object of that kind has this
// name", so the search should go on with the next kind.
func isNotThisKind(err error) bool {
	return errdefs.IsNotFound(err) ||
		strings.Contains(err.Error(), "invalid reference format") ||
		strings.Contains(err.Error(), "not supported")
}

// inspectPrinter accumulates inspected objects and prints them together.
type inspectPrinter interface {
	add(object inspectedObject) error
	flush(out io.Writer) error
}

// newInspectPrinter returns the printer for a --format value: "" prints a
// JSON array indented by four spaces, "json" a compact one, anything else is
// a Go template executed per object.
func newInspectPrinter(format string) (inspectPrinter, error) {
	switch format {
	case "":
		return &jsonArrayPrinter{indent: true}, nil
	case jsonFormat:
		return &jsonArrayPrinter{}, nil
	}
	tmpl, err := parseUserTemplate(format)
	if err != nil {
		return nil, err
	}
	return &templatePrinter{tmpl: tmpl}, nil
}

// jsonArrayPrinter prints the daemon's own JSON of each object, in an array.
type jsonArrayPrinter struct {
	indent  bool
	objects [][]byte
}

func (p *jsonArrayPrinter) add(object inspectedObject) error {
	p.objects = append(p.objects, object.raw)
	return nil
}

func (p *jsonArrayPrinter) flush(out io.Writer) error {
	array := append(append([]byte("["), bytes.Join(p.objects, []byte(","))...), ']')
	var formatted bytes.Buffer
	var err error
	if p.indent {
		err = json.Indent(&formatted, array, "", "    ")
	} else {
		err = json.Compact(&formatted, array)
	}
	if err != nil {
		return fmt.Errorf("formatting the daemon's JSON: %w", err)
	}
	formatted.WriteByte('\n')
	_, err = formatted.WriteTo(out)
	return err
}

// templatePrinter executes a template over each object, one result a line.
type templatePrinter struct {
	tmpl   *template.Template
	output bytes.Buffer
}

// add executes the template over the object's typed form, falling back to
// its raw JSON (as maps) for fields the typed form lacks, as docker does.
func (p *templatePrinter) add(object inspectedObject) error {
	var result bytes.Buffer
	if err := p.tmpl.Execute(&result, object.typed); err != nil {
		result.Reset()
		if err := p.executeOnRaw(&result, object.raw); err != nil {
			return err
		}
	}
	result.WriteByte('\n')
	_, _ = result.WriteTo(&p.output)
	return nil
}

func (p *templatePrinter) executeOnRaw(w io.Writer, raw []byte) error {
	var generic any
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.UseNumber()
	if err := decoder.Decode(&generic); err != nil {
		return fmt.Errorf("unable to read inspect data: %w", err)
	}
	strict, err := p.tmpl.Clone()
	if err != nil {
		return err
	}
	if err := strict.Option("missingkey=error").Execute(w, generic); err != nil {
		return fmt.Errorf("template parsing error: %w", err)
	}
	return nil
}

func (p *templatePrinter) flush(out io.Writer) error {
	if p.output.Len() == 0 {
		_, err := io.WriteString(out, "\n")
		return err
	}
	_, err := p.output.WriteTo(out)
	return err
}
