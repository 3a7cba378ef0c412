package dockerapi

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/labstack/echo/v4"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/storage"

	"github.com/skiff-dev/skiff/engine"
)

type imageRoutes struct {
	b Backend
}

// GET /images/json
func (r *imageRoutes) list(c echo.Context) error {
	f, err := parseFilters(c.QueryParam("filters"), "dangling", "reference", "label", "before", "since")
	if err != nil {
		return err
	}
	opts := engine.ImageListOptions{All: boolParam(c, "all"), Reference: f["reference"], Label: f["label"]}
	if opts.Dangling, err = f.boolean("dangling"); err != nil {
		return err
	}
	if opts.Before, err = f.single("before"); err != nil {
		return err
	}
	if opts.Since, err = f.single("since"); err != nil {
		return err
	}
	if filter := c.QueryParam("filter"); filter != "" { // API < 1.28
		opts.Reference = append(opts.Reference, filter)
	}
	images, err := r.b.ImageList(c.Request().Context(), opts)
	if err != nil {
		return err
	}
	out := make([]image.Summary, 0, len(images))
	for _, img := range images {
		out = append(out, toImageSummary(img, -1))
	}
	return WriteJSON(c, http.StatusOK, out)
}

// toImageSummary is an image as GET /images/json lists it; sharedSize is -1
// where it was not computed, as in Docker.
func toImageSummary(img engine.ImageSummary, sharedSize int64) image.Summary {
	return image.Summary{
		ID:          img.ID.String(),
		ParentID:    img.ParentID.String(),
		RepoTags:    img.RepoTags,
		RepoDigests: []string{},
		Created:     img.Created.Unix(),
		Size:        img.Size,
		SharedSize:  sharedSize,
		Containers:  img.Containers,
		Labels:      img.Labels,
	}
}

// imageName splits the wildcard of /images/{name}/{action}: names keep their
// slashes and colons (myregistry:5000/foo/bar:tag), so the action is taken
// from the right.
func imageName(c echo.Context, actions ...string) (name, action string) {
	rest := c.Param("*")
	if unescaped, err := url.PathUnescape(rest); err == nil {
		rest = unescaped
	}
	for _, a := range actions {
		if n, ok := strings.CutSuffix(rest, "/"+a); ok {
			return n, a
		}
	}
	return rest, ""
}

// GET /images/{name}/json, /history, /get
func (r *imageRoutes) getByName(c echo.Context) error {
	name, action := imageName(c, "json", "history", "get")
	switch action {
	case "json":
		return r.inspect(c, name)
	case "history":
		return r.history(c, name)
	case "get":
		return r.save(c, []string{name})
	}
	return echo.ErrNotFound
}

// POST /images/{name}/tag, /push
func (r *imageRoutes) postByName(c echo.Context) error {
	name, action := imageName(c, "tag", "push")
	switch action {
	case "tag":
		return r.tag(c, name)
	case "push":
		return r.push(c, name)
	}
	return echo.ErrNotFound
}

// inspectResponse is moby's image inspect answer plus Parent, which API
// 1.50 still reports and which carries skiff's lineage.
type inspectResponse struct {
	image.InspectResponse
	Parent string `json:"Parent"`
}

func (r *imageRoutes) inspect(c echo.Context, name string) error {
	img, err := r.b.ImageInspect(c.Request().Context(), name)
	if err != nil {
		return err
	}
	cfg := img.Config
	layers := make([]string, len(cfg.RootFS.DiffIDs))
	for i, d := range cfg.RootFS.DiffIDs {
		layers[i] = d.String()
	}
	var comment string
	if n := len(cfg.History); n > 0 {
		comment = cfg.History[n-1].Comment
	}
	var created string
	if cfg.Created != nil {
		created = cfg.Created.UTC().Format(time.RFC3339Nano)
	}
	out := inspectResponse{
		InspectResponse: image.InspectResponse{
			ID:           img.ID.String(),
			RepoTags:     img.RepoTags,
			RepoDigests:  []string{},
			Comment:      comment,
			Created:      created,
			Author:       cfg.Author,
			Config:       &cfg.Config,
			Architecture: cfg.Architecture,
			Variant:      cfg.Variant,
			Os:           cfg.OS,
			Size:         img.Size,
			GraphDriver: &storage.DriverData{Name: "overlayfs", Data: map[string]string{
				"LowerDir": strings.Join(img.LayerPaths, ":"),
			}},
			RootFS:   image.RootFS{Type: "layers", Layers: layers},
			Metadata: image.Metadata{LastTagTime: img.AddedAt},
		},
		Parent: img.ParentID.String(),
	}
	if c.Request().Method == http.MethodHead {
		return c.NoContent(http.StatusOK)
	}
	return WriteJSON(c, http.StatusOK, out)
}

func (r *imageRoutes) history(c echo.Context, name string) error {
	items, err := r.b.ImageHistory(c.Request().Context(), name)
	if err != nil {
		return err
	}
	out := make([]image.HistoryResponseItem, 0, len(items))
	for _, h := range items {
		out = append(out, image.HistoryResponseItem{
			ID:        h.ID,
			Created:   h.Created.Unix(),
			CreatedBy: h.CreatedBy,
			Comment:   h.Comment,
			Size:      h.Size,
			Tags:      h.Tags,
		})
	}
	return WriteJSON(c, http.StatusOK, out)
}

// POST /images/{name}/tag?repo=…&tag=…
func (r *imageRoutes) tag(c echo.Context, name string) error {
	target := c.QueryParam("repo")
	if tag := c.QueryParam("tag"); tag != "" {
		target += ":" + tag
	}
	if err := r.b.ImageTag(c.Request().Context(), name, target); err != nil {
		return err
	}
	return c.NoContent(http.StatusCreated)
}

// DELETE /images/{name}?force=1&noprune=1
func (r *imageRoutes) remove(c echo.Context) error {
	name, _ := imageName(c)
	records, err := r.b.ImageDelete(c.Request().Context(), name, boolParam(c, "force"), !boolParam(c, "noprune"))
	if err != nil {
		return err
	}
	out := make([]image.DeleteResponse, 0, len(records))
	for _, rec := range records {
		out = append(out, image.DeleteResponse{Untagged: rec.Untagged, Deleted: rec.Deleted})
	}
	return WriteJSON(c, http.StatusOK, out)
}

// POST /images/create: fromImage pulls from a registry; fromSrc imports a
// root filesystem tarball (the body when "-", else a URL).
func (r *imageRoutes) create(c echo.Context) error {
	if c.QueryParam("fromImage") != "" {
		return r.pull(c)
	}
	src := c.QueryParam("fromSrc")
	if src == "" {
		return errdefs.ErrInvalidArgument.WithMessage("either fromSrc or fromImage must be given")
	}
	opts := engine.ImageImportOptions{Source: src, Message: c.QueryParam("message"), Changes: c.QueryParams()["changes"]}
	if repo := c.QueryParam("repo"); repo != "" {
		target := repo
		if tag := c.QueryParam("tag"); tag != "" {
			target += ":" + tag
		}
		tag, err := engine.ParseImageTag(target)
		if err != nil {
			return err
		}
		opts.Tag = tag
	}
	ctx := c.Request().Context()
	body := io.Reader(c.Request().Body)
	if src != "-" {
		resp, err := fetchURL(c, src)
		if err != nil {
			return err
		}
		defer resp.Close()
		body = resp
	}
	id, err := r.b.ImageImport(ctx, body, opts)
	if err != nil {
		return err
	}
	return newJSONStream(c).status(id.String())
}

// fetchURL opens an http(s) URL for import.
func fetchURL(c echo.Context, src string) (io.ReadCloser, error) {
	u, err := url.Parse(src)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("fromSrc %q is neither - nor an http(s) URL", src))
	}
	req, err := http.NewRequestWithContext(c.Request().Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("fromSrc %q: %v", src, err))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", src, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("download %s: server answered %s", src, resp.Status))
	}
	return resp.Body, nil
}

// POST /images/load
func (r *imageRoutes) load(c echo.Context) error {
	results, err := r.b.ImageLoad(c.Request().Context(), c.Request().Body)
	if err != nil && len(results) == 0 {
		return err
	}
	out := newJSONStream(c)
	for _, res := range results {
		for tag, previous := range res.Moved {
			out.stream(fmt.Sprintf("The image %s already exists, renaming the old one with ID %s to empty string\n", tag, previous))
		}
		if len(res.Tags) == 0 {
			out.stream("Loaded image ID: " + res.ID.String() + "\n")
		}
		for _, tag := range res.Tags {
			out.stream("Loaded image: " + tag + "\n")
		}
	}
	if err != nil {
		return out.fail(err)
	}
	return nil
}

// GET /images/get?names=a&names=b
func (r *imageRoutes) saveMany(c echo.Context) error {
	return r.save(c, c.QueryParams()["names"])
}

func (r *imageRoutes) save(c echo.Context, names []string) error {
	if len(names) == 0 {
		return errdefs.ErrInvalidArgument.WithMessage("no image names given")
	}
	w := &lazyTarWriter{c: c}
	err := r.b.ImageSave(c.Request().Context(), w, names)
	if err != nil && c.Response().Committed {
		// The tar is half sent; abort the connection so the client sees a
		// failure, never a truncated archive that looks whole.
		panic(http.ErrAbortHandler)
	}
	return err
}

// lazyTarWriter starts the tar response at the first byte, so an error found
// before (an unknown image) still gets a proper status.
type lazyTarWriter struct {
	c echo.Context
}

func (w *lazyTarWriter) Write(p []byte) (int, error) {
	resp := w.c.Response()
	if !resp.Committed {
		resp.Header().Set(echo.HeaderContentType, "application/x-tar")
		resp.WriteHeader(http.StatusOK)
	}
	return resp.Write(p)
}

func boolParam(c echo.Context, name string) bool {
	switch strings.ToLower(c.QueryParam(name)) {
	case "", "0", "no", "false", "none":
		return false
	}
	return true
}
