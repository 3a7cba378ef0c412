package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/jsonstream"
)

// pullDisplay draws a pull's progress stream on a terminal as docker pull
// does: one line per layer, redrawn in place as its steps come, with a bar
// for Downloading and Extracting:
//
//	a6b62388090f: Downloading [=====>                  ]  12.3MB/45.6MB
//
// A line without a layer (Digest:, Status:) ends the layers' block.
type pullDisplay struct {
	out   io.Writer
	width uint // the terminal's columns; 0 when unknown
	lines map[string]int
}

func (d *pullDisplay) print(msg jsonstream.Message) error {
	if msg.ID == "" || msg.Progress == nil {
		d.lines = nil
		return printJSONMessage(d.out, msg)
	}
	if d.lines == nil {
		d.lines = map[string]int{}
	}
	line, ok := d.lines[msg.ID]
	if !ok {
		line = len(d.lines)
		d.lines[msg.ID] = line
		if _, err := io.WriteString(d.out, "\n"); err != nil {
			return err
		}
	}
	// The cursor sits below the block: go up to the layer's line, redraw
	// it, come back.
	up := len(d.lines) - line
	text := msg.ID + ": " + msg.Status
	if bar := progressBar(*msg.Progress, d.width); bar != "" {
		text += " " + bar
	}
	_, err := fmt.Fprintf(d.out, "\x1b[%dA\r\x1b[2K%s\x1b[%dB\r", up, text, up)
	return err
}

// progressBar renders current/total as docker does, the bar left out on a
// narrow terminal; "" without a total.
func progressBar(p jsonstream.Progress, width uint) string {
	if p.Total <= 0 {
		return ""
	}
	numbers := fmt.Sprintf("%8v/%v", units.HumanSize(float64(p.Current)), units.HumanSize(float64(p.Total)))
	if width != 0 && width < 110 {
		return strings.TrimSpace(numbers)
	}
	const cells = 50
	filled := int(min(p.Current, p.Total) * cells / p.Total)
	bar := strings.Repeat("=", filled)
	if filled < cells {
		bar += ">" + strings.Repeat(" ", cells-filled-1)
	}
	return "[" + bar + "] " + numbers
}

// printPullStream reads a pull's progress stream and draws it with d.
func printPullStream(stream io.Reader, d *pullDisplay) error {
	decoder := json.NewDecoder(stream)
	for {
		var msg jsonstream.Message
		err := decoder.Decode(&msg)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the daemon's progress stream: %w", err)
		}
		if msg.Error != nil {
			return msg.Error
		}
		if msg.Aux != nil {
			continue
		}
		if err := d.print(msg); err != nil {
			return err
		}
	}
}
