package layer

import (
	"strconv"
	"strings"
)

// TarBlockSize is the size of a tar header block.
const TarBlockSize = 512

// IsTarHeader reports whether block, the first TarBlockSize bytes of a
// stream, is a tar header, by its checksum as tar itself checks it: enough to
// tell an archive from a text file or other data without reading further. A
// block of zeros, which ends an archive (and is all of an empty one), is not
// a header.
func IsTarHeader(block []byte) bool {
	if len(block) < TarBlockSize {
		return false
	}
	// The checksum field (bytes 148 to 155) holds the octal sum of the
	// header's bytes, counting the field itself as spaces.
	const sumStart, sumEnd = 148, 156
	want, err := strconv.ParseUint(strings.Trim(string(block[sumStart:sumEnd]), " \x00"), 8, 32)
	if err != nil {
		return false
	}
	var sum uint64
	for i, b := range block[:TarBlockSize] {
		if i >= sumStart && i < sumEnd {
			b = ' '
		}
		sum += uint64(b)
	}
	return sum == want
}
