package cli

import (
	"fmt"
	"io"
	"strings"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/jsonstream"
)

// printProgress renders a pull's or push's JSON message stream: as docker
// draws it on a terminal (a line per layer, redrawn in place with its
// progress bar) when out is the terminal, else as plain lines.
func (cc *cliContext) printProgress(stream io.Reader, out io.Writer) error {
	if out != cc.stdout || !cc.stdoutIsTerminal {
		return printJSONMessages(stream, out)
	}
	bars := &progressBars{out: out, width: cc.consoleSize()[1], lines: map[string]int{}}
	return eachJSONMessage(stream, func(msg jsonstream.Message) error {
		if msg.Aux == nil {
			bars.show(msg)
		}
		return nil
	})
}

// progressBars keeps each layer's line where it was first printed, as
// docker's jsonmessage does: the cursor rests below the last line, and an
// update moves up to its layer's line, rewrites it and moves back.
type progressBars struct {
	out   io.Writer
	width uint
	lines map[string]int // layer ID → its line, counted from the first
}

func (p *progressBars) show(msg jsonstream.Message) {
	if msg.ID == "" || msg.Progress == nil {
		// A line of its own ends the block of layer lines.
		p.lines = map[string]int{}
		if msg.ID != "" {
			fmt.Fprintf(p.out, "%s: ", msg.ID)
		}
		fmt.Fprintf(p.out, "%s%s\n", msg.Stream, msg.Status)
		return
	}
	line, ok := p.lines[msg.ID]
	if !ok {
		line = len(p.lines)
		p.lines[msg.ID] = line
		fmt.Fprint(p.out, "\n")
	}
	up := len(p.lines) - line
	fmt.Fprintf(p.out, "\x1b[%dA\x1b[2K\r%s: %s %s\r\x1b[%dB", up, msg.ID, msg.Status, progressBar(*msg.Progress, p.width), up)
}

// progressBar is docker's "[====>    ]  12.5MB/107MB": the bar on
// terminals over 110 columns wide, the figures always, nothing for a step
// without sizes.
func progressBar(pr jsonstream.Progress, width uint) string {
	if pr.Current <= 0 && pr.Total <= 0 {
		return ""
	}
	if pr.Total <= 0 || pr.Current > pr.Total {
		return fmt.Sprintf("%8v", units.HumanSize(float64(pr.Current)))
	}
	var bar string
	if width > 110 {
		filled := min(int(float64(pr.Current)/float64(pr.Total)*50), 50)
		bar = "[" + strings.Repeat("=", filled) + ">" + strings.Repeat(" ", 50-filled) + "] "
	}
	return bar + fmt.Sprintf("%8v/%v", units.HumanSize(float64(pr.Current)), units.HumanSize(float64(pr.Total)))
}
