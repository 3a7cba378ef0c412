package monitor

import "encoding/binary"

// ringSize is how much recent output the monitor keeps for Replay.
const ringSize = 64 << 10

// ring keeps the most recent output as whole frames, oldest first, in a
// fixed buffer of ringSize bytes: each frame is a stdcopy header followed by
// its payload (a TTY's output too, for uniformity; its replay strips the
// headers). Adding a frame evicts the oldest ones until it fits, so a
// replay never starts in the middle of a frame; a chunk larger than the
// whole ring keeps only its end. The buffer is allocated on the first
// output: a container that prints nothing costs nothing.
type ring struct {
	buf   []byte
	start int // offset of the oldest frame
	n     int // bytes in use, from start, wrapping around
}

func (r *ring) add(stream byte, p []byte) {
	if max := ringSize - frameHeaderLen; len(p) > max {
		p = p[len(p)-max:]
	}
	if r.buf == nil {
		r.buf = make([]byte, ringSize)
	}
	for r.n+frameHeaderLen+len(p) > len(r.buf) {
		var h [frameHeaderLen]byte
		r.read(r.start, h[:])
		size := frameHeaderLen + int(binary.BigEndian.Uint32(h[4:]))
		r.start = (r.start + size) % len(r.buf)
		r.n -= size
	}
	var h [frameHeaderLen]byte
	putFrameHeader(h[:], stream, len(p))
	r.write(h[:])
	r.write(p)
}

// each calls fn with every frame kept, oldest first; p is fn's to keep.
func (r *ring) each(fn func(stream byte, p []byte)) {
	for off := 0; off < r.n; {
		at := (r.start + off) % len(r.buf)
		var h [frameHeaderLen]byte
		r.read(at, h[:])
		p := make([]byte, binary.BigEndian.Uint32(h[4:]))
		r.read((at+frameHeaderLen)%len(r.buf), p)
		fn(h[0], p)
		off += frameHeaderLen + len(p)
	}
}

// write appends p after the frames kept; the caller made room.
func (r *ring) write(p []byte) {
	at := (r.start + r.n) % len(r.buf)
	k := copy(r.buf[at:], p)
	copy(r.buf, p[k:])
	r.n += len(p)
}

// read fills p from offset at, wrapping around.
func (r *ring) read(at int, p []byte) {
	k := copy(p, r.buf[at:])
	copy(p[k:], r.buf)
}
