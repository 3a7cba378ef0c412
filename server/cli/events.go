package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type eventsOptions struct {
	since  string
	until  string
	filter filterFlag
	format string
}

func newEventsCommand(cc *cliContext) *cobra.Command {
	var opts eventsOptions
	cmd := &cobra.Command{
		Use:   "events [OPTIONS]",
		Short: "Get real time events from the server",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEvents(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.since, "since", "", "Show all events created since timestamp")
	flags.StringVar(&opts.until, "until", "", "Stream events until this timestamp")
	flags.VarP(&opts.filter, "filter", "f", "Filter output based on conditions provided")
	flags.StringVar(&opts.format, "format", "", inspectFormatHelp)
	return cmd
}

// eventTimeFormat is docker's RFC3339NanoFixed: always nine digits.
const eventTimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// runEvents prints the daemon's events as they come, until --until is
// reached (the daemon ends the stream) or skiff is interrupted.
func runEvents(ctx context.Context, cc *cliContext, opts eventsOptions) error {
	var tmpl *template.Template
	if opts.format != "" {
		format := opts.format
		if format == jsonFormat {
			format = "{{json .}}"
		}
		var err error
		if tmpl, err = parseUserTemplate(format); err != nil {
			return err
		}
	}
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	res := api.Events(ctx, client.EventsListOptions{Since: opts.since, Until: opts.until, Filters: opts.filter.value()})
	location := cc.now().Location()
	for {
		select {
		case msg := <-res.Messages:
			if tmpl != nil {
				err = executeLine(cc.stdout, tmpl, msg)
			} else {
				err = printEvent(cc.stdout, msg, location)
			}
			if err != nil {
				return err
			}
		case err := <-res.Err:
			if errors.Is(err, io.EOF) || err == nil {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
}

// printEvent writes docker's line for an event:
//
//	2026-11-26T22:59:04.123456789Z container start 1a2b… (image=busybox, name=web)
//
// the attributes sorted by key, the parenthesis left out when there are none.
func printEvent(out io.Writer, msg events.Message, location *time.Location) error {
	var b strings.Builder
	switch {
	case msg.TimeNano != 0:
		b.WriteString(time.Unix(0, msg.TimeNano).In(location).Format(eventTimeFormat) + " ")
	case msg.Time != 0:
		b.WriteString(time.Unix(msg.Time, 0).In(location).Format(eventTimeFormat) + " ")
	}
	fmt.Fprintf(&b, "%s %s %s", msg.Type, msg.Action, msg.Actor.ID)
	if len(msg.Actor.Attributes) > 0 {
		keys := make([]string, 0, len(msg.Actor.Attributes))
		for key := range msg.Actor.Attributes {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		attrs := make([]string, len(keys))
		for i, key := range keys {
			attrs[i] = key + "=" + msg.Actor.Attributes[key]
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(attrs, ", "))
	}
	b.WriteByte('\n')
	_, err := io.WriteString(out, b.String())
	return err
}
