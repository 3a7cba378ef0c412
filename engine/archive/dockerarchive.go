package archive

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/opencontainers/go-digest"
)

// parseDockerArchive reads the images listed by manifest.json.
func (a *Archive) parseDockerArchive(ctx context.Context) ([]LoadImage, error) {
	var items []dockerManifestItem
	if _, err := a.readJSON(dockerManifestFile, &items); err != nil {
		return nil, fmt.Errorf("%s: %w", dockerManifestFile, err)
	}
	if items == nil {
		return nil, invalidf("%s: null, expected a list of images", dockerManifestFile)
	}
	images := make([]LoadImage, 0, len(items))
	for i, item := range items {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		img, err := a.loadDockerImage(item)
		if err != nil {
			return nil, fmt.Errorf("%s: image %d: %w", dockerManifestFile, i, err)
		}
		images = append(images, img)
	}
	return images, nil
}

func (a *Archive) loadDockerImage(item dockerManifestItem) (LoadImage, error) {
	img, err := a.loadDockerConfig(item.Config)
	if err != nil {
		return LoadImage{}, err
	}
	img.RepoTags = item.RepoTags
	if item.Parent != "" {
		if err := item.Parent.Validate(); err != nil {
			return LoadImage{}, invalidf("invalid Parent %q: %w", item.Parent, err)
		}
		img.Parent = item.Parent
	}
	for _, layerPath := range item.Layers {
		layer, err := a.dockerLayer(layerPath)
		if err != nil {
			return LoadImage{}, err
		}
		img.Layers = append(img.Layers, layer)
	}
	if err := checkLayerCount(img); err != nil {
		return LoadImage{}, err
	}
	return img, nil
}

func (a *Archive) loadDockerConfig(configPath string) (LoadImage, error) {
	config, err := a.readNamedConfig(configPath)
	if err != nil {
		return LoadImage{}, fmt.Errorf("config %q: %w", configPath, err)
	}
	return LoadImage{ConfigDigest: digest.FromBytes(config), Config: config}, nil
}

// readNamedConfig reads the config at configPath, checking it against the
// digest its name gives: blobs/sha256/<hex> or (before Docker 25) <hex>.json.
func (a *Archive) readNamedConfig(configPath string) ([]byte, error) {
	name, err := cleanManifestPath(configPath)
	if err != nil {
		return nil, err
	}
	config, err := a.readJSONFile(name)
	if err != nil {
		return nil, err
	}
	expected, named, err := configDigestFromName(name)
	if err != nil || !named {
		return config, err
	}
	if err := verifyConfigDigest(config, expected); err != nil {
		return nil, err
	}
	return config, nil
}

// configDigestFromName returns the digest that a config's file name gives, if
// any.
func configDigestFromName(name string) (d digest.Digest, named bool, err error) {
	if d, isBlob, err := blobDigest(name); isBlob || err != nil {
		return d, isBlob, err
	}
	hex, isJSON := strings.CutSuffix(path.Base(name), ".json")
	if !isJSON {
		return "", false, nil
	}
	d = digest.NewDigestFromEncoded(digest.SHA256, hex)
	if d.Validate() != nil {
		return "", false, nil // some other name: nothing to check against
	}
	return d, true, nil
}

func (a *Archive) dockerLayer(layerPath string) (LoadLayer, error) {
	name, err := cleanManifestPath(layerPath)
	if err != nil {
		return LoadLayer{}, fmt.Errorf("layer %q: %w", layerPath, err)
	}
	file, _, err := a.regularFile(name)
	if err != nil {
		return LoadLayer{}, fmt.Errorf("layer %q: %w", layerPath, err)
	}
	blob, _, _ := blobDigest(name) // invalid blob names were refused when spooled
	return LoadLayer{Open: layerOpener(file), Digest: blob}, nil
}

// cleanManifestPath checks a path that manifest.json names.
func cleanManifestPath(p string) (string, error) {
	if p == "" {
		return "", invalidf("empty path")
	}
	return cleanEntryName(p)
}

// verifyConfigDigest checks a config against the digest by which the archive
// names it.
func verifyConfigDigest(config []byte, expected digest.Digest) error {
	if got := expected.Algorithm().FromBytes(config); got != expected {
		return invalidf("config digest mismatch: expected %s, content hashes to %s", expected, got)
	}
	return nil
}

// checkLayerCount checks that an image has as many layers as its config's
// rootfs.diff_ids lists, when the config lists them.
func checkLayerCount(img LoadImage) error {
	diffIDs, listed, err := configDiffIDs(img.Config)
	if err != nil {
		return err
	}
	if listed && len(diffIDs) != len(img.Layers) {
		return invalidf("image %s: config lists %d layers, manifest lists %d", shortID(img.ConfigDigest), len(diffIDs), len(img.Layers))
	}
	return nil
}

// configDiffIDs returns an image config's rootfs.diff_ids, and whether it
// has a rootfs at all.
func configDiffIDs(config []byte) (diffIDs []digest.Digest, listed bool, err error) {
	var partial struct {
		RootFS *struct {
			DiffIDs []digest.Digest `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(config, &partial); err != nil {
		return nil, false, invalidf("config: malformed JSON: %w", err)
	}
	if partial.RootFS == nil {
		return nil, false, nil
	}
	return partial.RootFS.DiffIDs, true, nil
}
