package skiffapi

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	errhttp "github.com/containerd/errdefs/pkg/errhttp"
	"github.com/distribution/reference"
	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"
	"github.com/moby/moby/api/types/jsonstream"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/registry"
)

// RegistryBackend is what the dashboard's pull and push websockets need
// from the engine.
type RegistryBackend interface {
	ImagePull(ctx context.Context, ref string, opts engine.ImagePullOptions) (engine.ImagePullResult, error)
	ImagePush(ctx context.Context, ref string, opts registry.PushOptions) (registry.PushResult, error)
}

// registryRoutes serve the dashboard's pulls and pushes as websockets, so
// that the page can show each layer's progress as it happens and stop the
// work by closing the socket:
//
//	GET /skiff/images/pull/ws?ref=REF
//	GET /skiff/images/push/ws?ref=REF
//
// Each text frame is one message of Docker's JSON progress stream (what
// POST /images/create and POST /images/{name}/push send): a status, a
// layer's step with its progressDetail, and at the end an aux message with
// the result, or an errorDetail. The server then closes normally. A client
// that closes or goes away cancels the pull or push.
type registryRoutes struct {
	b    RegistryBackend
	base func() context.Context
}

func newRegistryRoutes(b RegistryBackend, base func() context.Context) *registryRoutes {
	if base == nil {
		base = context.Background
	}
	return &registryRoutes{b: b, base: base}
}

func (r *registryRoutes) register(g *echo.Group) {
	g.GET("/images/pull/ws", r.pull)
	g.GET("/images/push/ws", r.push)
}

// PullResult is the aux message that ends a pull's websocket.
type PullResult struct {
	ID       string // the image ID
	Digest   string // the manifest's digest
	Ref      string // the reference pulled, in its familiar form
	UpToDate bool   // the store had it already
}

// GET /skiff/images/pull/ws?ref=REF
func (r *registryRoutes) pull(c echo.Context) error {
	req := c.Request()
	if err := checkUpgrade(req); err != nil {
		return err
	}
	named, err := parseImageRef(c.QueryParam("ref"))
	if err != nil {
		return err
	}
	// Docker names the pull by its tag or digest, and the repository by
	// its path on the registry ("library/busybox").
	tagOrDigest := ""
	switch ref := named.(type) {
	case reference.Canonical:
		tagOrDigest = ref.Digest().String()
	case reference.NamedTagged:
		tagOrDigest = ref.Tag()
	}
	return r.serve(c, func(ctx context.Context, s *progressSocket) error {
		if err := s.send(jsonstream.Message{Status: "Pulling from " + reference.Path(named), ID: tagOrDigest}); err != nil {
			return err
		}
		res, err := r.b.ImagePull(ctx, named.String(), engine.ImagePullOptions{Progress: func(p registry.Progress) {
			s.progress(layerMessage(p.Layer.Encoded(), p.Status, p.Current, p.Total))
		}})
		if err != nil {
			return err
		}
		verdict := "Downloaded newer image for "
		if res.UpToDate {
			verdict = "Image is up to date for "
		}
		familiar := reference.FamiliarString(named)
		if err := s.send(jsonstream.Message{Status: "Digest: " + res.Digest.String()}); err != nil {
			return err
		}
		if err := s.send(jsonstream.Message{Status: "Status: " + verdict + familiar}); err != nil {
			return err
		}
		return s.aux(PullResult{ID: res.ID.String(), Digest: res.Digest.String(), Ref: familiar, UpToDate: res.UpToDate})
	})
}

// PushResult is the aux message that ends a push's websocket, as Docker's.
type PushResult struct {
	Tag    string // the tag pushed
	Digest string // the manifest's digest
	Size   int64  // the manifest's bytes
}

// GET /skiff/images/push/ws?ref=REF
func (r *registryRoutes) push(c echo.Context) error {
	req := c.Request()
	if err := checkUpgrade(req); err != nil {
		return err
	}
	named, err := parseImageRef(c.QueryParam("ref"))
	if err != nil {
		return err
	}
	if _, ok := named.(reference.NamedTagged); !ok {
		return errdefs.ErrInvalidArgument.WithMessage("push by digest is not supported: name a tag")
	}
	return r.serve(c, func(ctx context.Context, s *progressSocket) error {
		if err := s.send(jsonstream.Message{Status: "The push refers to repository [" + named.Name() + "]"}); err != nil {
			return err
		}
		res, err := r.b.ImagePush(ctx, reference.FamiliarString(named), registry.PushOptions{Progress: func(p registry.PushProgress) {
			// "Mounted from test/pushed": the status names the repository.
			s.progress(layerMessage(p.Layer.Encoded(), p.Status, p.Current, p.Total))
		}})
		if err != nil {
			return err
		}
		if err := s.send(jsonstream.Message{Status: fmt.Sprintf("%s: digest: %s size: %d", res.Tag, res.Digest, res.Size)}); err != nil {
			return err
		}
		return s.aux(PushResult{Tag: res.Tag, Digest: res.Digest.String(), Size: res.Size})
	})
}

// parseImageRef reads a reference as docker pull and push take it, naming
// "latest" when it names no tag or digest.
func parseImageRef(ref string) (reference.Named, error) {
	if ref == "" {
		return nil, errdefs.ErrInvalidArgument.WithMessage("the ref parameter is required: an image reference such as busybox:latest or host:port/repo:tag")
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid reference %q: %v", ref, err))
	}
	return reference.TagNameOnly(named), nil
}

// layerMessage is a layer's step as Docker streams it: the layer by the
// short form of its digest, always with a progress detail.
func layerMessage(hex, status string, current, total int64) jsonstream.Message {
	return jsonstream.Message{Status: status, ID: shortID(hex), Progress: &jsonstream.Progress{Current: current, Total: total}}
}

// serve upgrades the request and runs work with its socket, then ends the
// stream: with work's error as an errorDetail message, and a normal close.
// work's context ends when the client closes or goes away, or when the
// daemon stops serving.
func (r *registryRoutes) serve(c echo.Context, work func(context.Context, *progressSocket) error) error {
	req := c.Request()
	conn, err := upgrader.Upgrade(c.Response(), req, nil)
	if err != nil {
		return nil // the upgrader has answered the client
	}
	defer conn.Close()

	ctx, cancel, awaitClose := followPeer(req.Context(), r.base(), conn)
	defer cancel()

	s := &progressSocket{conn: conn, cancel: cancel, last: map[string]sent{}}
	err = work(ctx, s)
	switch {
	case r.base().Err() != nil:
		s.close(websocket.CloseGoingAway, "the daemon is stopping")
	case s.gone() || ctx.Err() != nil:
		return nil // the client left
	case err != nil:
		if s.fail(err) != nil {
			return nil
		}
		s.close(websocket.CloseNormalClosure, "")
	default:
		s.close(websocket.CloseNormalClosure, "")
	}
	awaitClose()
	return nil
}

// progressThrottle is how often a layer's byte counts are sent at most:
// a registry on loopback reports thousands of reads a second, more than a
// page can draw. Every change of step is sent.
const progressThrottle = 100 * time.Millisecond

// sent is the last message sent about a layer.
type sent struct {
	status string
	at     time.Time
}

// progressSocket writes one pull's or push's messages, one at a time:
// progress may come from the engine's goroutines.
type progressSocket struct {
	conn   *websocket.Conn
	cancel context.CancelFunc
	mu     sync.Mutex
	err    error           // the first failed write: the client is gone
	last   map[string]sent // by layer
}

// send writes m. A failed write cancels the work: nobody is listening.
func (s *progressSocket) send(m any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.write(m)
}

func (s *progressSocket) write(m any) error {
	if s.err != nil {
		return s.err
	}
	if err := s.conn.SetWriteDeadline(time.Now().Add(writeWait)); err != nil {
		s.err = err
	} else if err := s.conn.WriteJSON(m); err != nil {
		s.err = err
	}
	if s.err != nil {
		s.cancel()
	}
	return s.err
}

// progress sends a layer's step, and its byte counts at most every
// progressThrottle (and when complete).
func (s *progressSocket) progress(m jsonstream.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	last, seen := s.last[m.ID]
	complete := m.Progress != nil && m.Progress.Total > 0 && m.Progress.Current >= m.Progress.Total
	if seen && last.status == m.Status && !complete && now.Sub(last.at) < progressThrottle {
		return
	}
	s.last[m.ID] = sent{status: m.Status, at: now}
	s.write(m) // a failure cancels the work, which returns it
}

// aux sends the result, as Docker's aux message.
func (s *progressSocket) aux(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding the result: %w", err)
	}
	raw := json.RawMessage(b)
	return s.send(jsonstream.Message{Aux: &raw})
}

// fail sends err as Docker's error message, with the HTTP status its class
// maps to (401 unauthorized, 404 not found...) as its code.
func (s *progressSocket) fail(err error) error {
	detail := jsonstream.Error{Message: err.Error()}
	if code := errhttp.ToHTTP(err); code != 500 {
		detail.Code = code
	}
	return s.send(streamError{ErrorDetail: detail, Error: err.Error()})
}

// streamError is an error message in a stream: errorDetail is what
// clients act on; the deprecated error field is for older ones.
type streamError struct {
	ErrorDetail jsonstream.Error `json:"errorDetail"`
	Error       string           `json:"error"`
}

func (s *progressSocket) gone() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err != nil
}

func (s *progressSocket) close(code int, reason string) {
	s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(writeWait))
}
