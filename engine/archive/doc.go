// Package archive reads and writes the image tarballs of `skiff save` and
// `skiff load`.
//
// # Formats
//
// Write produces the combined format that Docker 25 and later write, which
// both Docker's classic image store and OCI tools (containerd, skopeo,
// podman) can load:
//
//	blobs/sha256/<hex>   every blob, once: layer tars (uncompressed), image
//	                     configs and OCI image manifests
//	index.json           OCI image index: one manifest descriptor per tag,
//	                     annotated with io.containerd.image.name (the full
//	                     name, docker.io/library/busybox:latest) and
//	                     org.opencontainers.image.ref.name (the tag); an
//	                     untagged image gets one descriptor without annotations
//	manifest.json        the docker-archive manifest: per image its Config and
//	                     Layers as paths into blobs/, its RepoTags in familiar
//	                     form (busybox:latest) and its Parent image ID if any
//	oci-layout           {"imageLayoutVersion":"1.0.0"}
//	repositories         legacy map of repository → tag → ID hex; only when
//	                     an image is tagged
//
// Read accepts that format and two older or foreign ones:
//
//   - docker-archive as Docker 1.10 to 24 wrote it: manifest.json names the
//     config "<hex>.json" and the layers "<v1 id>/layer.tar" (those may be
//     symbolic links to another layer's tar, and may be compressed), beside
//     legacy "<v1 id>/json" and "<v1 id>/VERSION" files that are ignored;
//   - an OCI image layout (oci-layout, index.json, blobs/), as written by
//     buildx, skopeo or containerd: index.json may point to nested image
//     indexes, of which the manifest for the host platform (linux/GOARCH) is
//     chosen; layers may be compressed (tar+gzip, tar+zstd); image names come
//     from the io.containerd.image.name annotation, or from
//     org.opencontainers.image.ref.name when it holds a full reference rather
//     than a bare tag.
//
// When a tarball holds both manifest.json and index.json, manifest.json is
// used. The tarball itself may be compressed, as docker load allows.
//
// # Safety
//
// Read spools the tarball into a private directory before parsing it. Entry
// names that are absolute or climb out with ".." are refused, links are
// resolved inside the archive only and never created on disk, every
// blobs/<alg>/<hex> entry is hashed while it is written and must match its
// name, and JSON documents are read only up to 8 MiB. Errors caused by the
// input match errdefs.ErrInvalidArgument.
package archive
