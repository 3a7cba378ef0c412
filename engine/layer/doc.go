// Package layer unpacks image layers into directories that overlayfs stacks as
// lower directories.
//
// Each layer is unpacked once, into a directory under the store root named by
// the hex of its chain ID, and is shared by every image that has it. Which
// images use a layer, and so when it may go, is recorded by the caller (in the
// image database): this package keeps no reference counts.
//
// Layout under the root directory:
//
//	<hex>             a committed layer: its files, used as an overlayfs lowerdir
//	.tmp-<random>     a layer being unpacked, not yet visible
//	.removing-<hex>   a layer being removed
//
// # Lifecycle
//
//	p, err := s.Unpack(ctx, r)  // unpack the uncompressed tar into .tmp-<random>
//	err = s.Commit(p, chainID)  // rename it to <hex>; or s.Discard(p)
//	lower := s.Path(chainID)    // the lowerdir for overlayfs
//	err = s.Remove(chainID)     // rename to .removing-<hex>, then delete
//
// Unpack leaves nothing behind when it fails. Between Unpack and Commit the
// caller checks what it unpacked (usually that the uncompressed stream hashed
// to the expected diff ID, which the caller computes while feeding Unpack) and
// calls Discard if it is wrong. Committing a chain ID that already exists
// discards the pending copy and succeeds, so two pulls racing to unpack the
// same layer both succeed and end up sharing one directory. After Commit or
// Discard a Pending must not be used again.
//
// A Store is safe for concurrent use; making sure no container still mounts a
// layer that is being removed is the caller's job.
//
// # Crashes
//
// Commit flushes the unpacked files to disk before the rename, so after a crash
// every <hex> directory is a whole layer. A crash can leave .tmp-* and
// .removing-* directories behind; Open deletes them, so only one process may
// use a store root at a time. A crash before Remove's
// rename leaves the layer in place: callers reconcile their records with Walk.
//
// # Unpacking
//
// Apply, which Unpack uses, treats the tar as hostile. It rejects entry names
// that are absolute or climb out of the layer with "..", never writes through a
// symlink (a symlink may point anywhere, but nothing is created beneath one),
// resolves hard link targets inside the layer, and never applies trusted.*
// extended attributes, which are overlayfs's own metadata. Such input fails with
// an error wrapping [errdefs.ErrInvalidArgument] that names the entry.
//
// OCI whiteouts become overlayfs whiteouts: "dir/.wh.name" becomes a 0/0
// character device "dir/name", and "dir/.wh..wh..opq" sets the xattr
// trusted.overlay.opaque=y on "dir". Apply keeps owners, modes (setuid
// included), times, devices and other extended attributes as the tar says: it
// must run as root.
//
// ApplyAt unpacks, with the same care, tar archives that are not layers: a
// build context, or an archive that ADD unpacks into an image. Its
// [ApplyOptions] keep .wh.* entries as plain files, refuse devices, or
// resolve symlinks in entries' parent directories inside the target as if it
// were the root.
package layer
