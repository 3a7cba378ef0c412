// Package logfile stores a container's stdout and stderr in Docker's
// json-file format and reads them back for "logs" requests.
//
// # Format
//
// Each record is one line of JSON, byte for byte as Docker's json-file
// driver writes it:
//
//	{"log":"hello\n","stream":"stdout","time":"2026-01-02T03:04:05.123456789Z"}
//
// The time is the UTC wall-clock time at which the writer emitted the record,
// formatted with [time.RFC3339Nano]. The log string follows the escaping of
// [encoding/json.Marshal] with HTML escaping: invalid UTF-8 becomes \ufffd,
// '<', '>', '&', U+2028 and U+2029 become \u003c-style escapes, and control
// characters use \b \f \n \r \t or \u00XX. Docker writes \b, \f and \t as
// \u0008, \u000c and \u0009 instead; both decode to the same bytes, so files
// remain interchangeable with Docker's.
//
// # Lines and partial lines
//
// A [Writer] splits each stream into lines; every complete line is one
// record whose log ends in "\n". Bytes without a newline are held back and
// written as a record of their own (without "\n") once they are 100 ms old,
// so that a prompt shows up, or in 16 KiB pieces when the line grows beyond that, as
// Docker's partial messages (cut before a UTF-8 sequence rather than inside
// it). A reader concatenating the logs of successive
// records of one stream gets the original bytes back, except that invalid
// UTF-8 has been replaced.
//
// # Rotation
//
// With a MaxSize, a record that would push the current file past it first
// rotates: every file is renamed a step older (Path.N to Path.N+1, Path to
// Path.1), the ones that would be MaxFiles or more steps old are removed,
// and a new Path is created. A file therefore exceeds MaxSize only when a
// single record is larger than it (or, briefly, see below).
//
// Writer and readers usually live in different processes (the container
// monitor and the daemon). They coordinate with flock(2) on Path+".lock":
// the writer renames files only while it holds an exclusive lock, and
// readers hold a shared lock while they list and open the files, so they
// always see a consistent set. The writer never waits for the lock: if a
// reader holds it, rotation is retried at the next record (the file then
// exceeds MaxSize by a record or so). Once a reader has opened a file it can
// read all of it, even after the writer has renamed or removed it. The lock
// file is left in place; it goes with the log.
//
// # Following
//
// [Read] with Follow reads the current file to its end and then waits for
// more, woken by inotify on the log directory (or, if inotify is unavailable,
// by polling every 200 ms; the done callback is also checked at that
// interval). When the file it is reading is no longer the one named Path, it
// reads it to its end — the writer creates the new file only after its last
// write to the old one — and continues with the next newer file, so no record
// is lost or repeated across rotations.
//
// The limit: a follower that is more than MaxFiles-1 rotations behind the
// writer finds that the file after the one it was reading has already been
// removed; it then continues with the oldest file that is left, and the
// records in between are lost. With the default 10 MiB × 3 files this needs a
// reader some 20 MiB behind.
//
// Lines that are not valid records — a record torn by a crash or a full disk
// — are skipped by readers.
package logfile
