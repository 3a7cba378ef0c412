package dockerapi

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/containerd/errdefs"
	"github.com/labstack/echo/v4"

	"github.com/skiff-dev/skiff/engine"
)

// stdcopy stream numbers.
const (
	stdoutStream = 1
	stderrStream = 2
)

// writeFrame writes one stdcopy frame: stream, three zero bytes, the
// big-endian payload length, then the payload.
func writeFrame(w io.Writer, stream byte, p []byte) error {
	var hdr [8]byte
	hdr[0] = stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(p)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(p)
	return err
}

// GET /containers/{id}/logs?stdout=1&stderr=1&follow=1&tail=N&since=&until=&timestamps=1
func (r *containerRoutes) logs(c echo.Context) error {
	ctx := c.Request().Context()
	opts := engine.ContainerLogOptions{
		Tail:   -1,
		Follow: boolParam(c, "follow"),
		Stdout: boolParam(c, "stdout"),
		Stderr: boolParam(c, "stderr"),
	}
	if !opts.Stdout && !opts.Stderr {
		return errdefs.ErrInvalidArgument.WithMessage("Bad parameters: you must choose at least one stream")
	}
	if tail := c.QueryParam("tail"); tail != "" && tail != "all" {
		n, err := strconv.Atoi(tail)
		if err != nil {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid tail %q", tail))
		}
		opts.Tail = n
	}
	var err error
	if opts.Since, err = unixTimeParam(c, "since"); err != nil {
		return err
	}
	if opts.Until, err = unixTimeParam(c, "until"); err != nil {
		return err
	}
	ctr, err := r.b.ContainerInspect(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	timestamps := boolParam(c, "timestamps")
	resp := c.Response()
	resp.Header().Set(echo.HeaderContentType, streamType(c, ctr.Config.Tty))
	resp.WriteHeader(http.StatusOK)
	resp.Flush()
	_, err = r.b.ContainerLogs(ctx, ctr.ID, opts, func(e engine.LogEntry) error {
		line := e.Line
		if timestamps {
			line = append([]byte(e.Time.UTC().Format(time.RFC3339Nano)+" "), line...)
		}
		var err error
		if ctr.Config.Tty {
			_, err = resp.Write(line)
		} else {
			stream := byte(stdoutStream)
			if e.Stream == "stderr" {
				stream = stderrStream
			}
			err = writeFrame(resp, stream, line)
		}
		if opts.Follow {
			resp.Flush()
		}
		return err
	})
	if err != nil && ctx.Err() == nil {
		writeFrame(resp, 3, []byte(err.Error())) // systemerr: the CLI shows it
	}
	return nil
}

// unixTimeParam reads a time as the docker CLI sends it: unix seconds with
// an optional fraction ("1795727978.000000000").
func unixTimeParam(c echo.Context, name string) (time.Time, error) {
	v := c.QueryParam(name)
	if v == "" || v == "0" {
		return time.Time{}, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t, nil
		}
		return time.Time{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid %s %q", name, v))
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), nil
}
