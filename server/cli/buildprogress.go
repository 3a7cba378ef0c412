package cli

import (
	"fmt"
	"io"

	"github.com/docker/go-units"
)

// contextProgress reports the build context's bytes as the daemon reads
// them, in the legacy docker CLI's words, which users compare:
//
//	Sending build context to Docker daemon  4.096kB
//
// On a terminal the line is redrawn every 512kB; elsewhere only the total
// is written, once all of it is sent. Both end the line as docker does,
// with "\r\r\n".
type contextProgress struct {
	r        io.Reader
	out      io.Writer
	terminal bool

	sent, shown int64
	done        bool
}

const progressEvery = 512 << 10

func (p *contextProgress) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.sent += int64(n)
	switch {
	case err == io.EOF && !p.done:
		p.done = true
		p.print("\r\r\n")
	case p.terminal && p.sent-p.shown > progressEvery:
		p.shown = p.sent
		p.print("\r")
	}
	return n, err
}

func (p *contextProgress) print(end string) {
	fmt.Fprintf(p.out, "Sending build context to Docker daemon %8s%s", units.HumanSize(float64(p.sent)), end)
}
