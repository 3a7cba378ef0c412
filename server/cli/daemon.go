package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/moby/moby/api/types/common"
	"github.com/moby/moby/client"

	"github.com/skiff-dev/skiff/server/wire"
)

// daemon returns the API client for the daemon at cc.host, creating it on
// first use. The client speaks the API version of the daemon it ships with
// (DOCKER_API_VERSION names another, for an older daemon) rather than
// negotiating one, which would cost every command a /_ping first, and
// sends SKIFF_TOKEN as a bearer token header, never in the URL.
func (cc *cliContext) daemon() (*client.Client, error) {
	if cc.api != nil {
		return cc.api, nil
	}
	if err := validateHost(cc.host); err != nil {
		return nil, err
	}
	version := wire.APIVersion
	if v := cc.getenv("DOCKER_API_VERSION"); v != "" {
		version = v // an older daemon's
	}
	opts := []client.Opt{
		client.WithHost(cc.host),
		client.WithUserAgent(cc.userAgent()),
		client.WithAPIVersion(version),
	}
	if header := cc.authHeader(); header != "" {
		opts = append(opts, client.WithHTTPHeaders(map[string]string{"Authorization": header}))
	}
	api, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("configuring the daemon client for %s: %w", cc.host, err)
	}
	cc.api = api
	return api, nil
}

// validateHost accepts the two address forms the daemon listens on:
// unix:///path/to.sock and tcp://host:port.
func validateHost(host string) error {
	scheme, addr, _ := strings.Cut(host, "://")
	switch scheme {
	case "unix":
		if addr != "" {
			return nil
		}
	case "tcp":
		hostPort, _, _ := strings.Cut(addr, "/")
		if _, port, err := net.SplitHostPort(hostPort); err == nil && port != "" {
			return nil
		}
	}
	return fmt.Errorf("invalid daemon host %q: use unix:///path/to/socket or tcp://host:port", host)
}

func (cc *cliContext) authHeader() string {
	if token := cc.getenv(envToken); token != "" {
		return "Bearer " + token
	}
	return ""
}

func (cc *cliContext) userAgent() string {
	return "skiff-cli/" + cc.version
}

// getJSON sends GET path to the daemon and decodes the JSON answer into out.
// It serves the endpoints the typed client does not cover — skiff's own
// (/skiff/...) and answers whose fields the typed client drops — over the
// client's own dialer, with the same headers, and reports daemon errors in
// the client's "Error response from daemon: ..." form.
func (cc *cliContext) getJSON(ctx context.Context, path string, out any) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	hostURL, err := client.ParseHostURL(api.DaemonHost())
	if err != nil {
		return err
	}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return api.Dialer()(ctx)
		},
	}
	defer transport.CloseIdleConnections()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL(hostURL, path), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", cc.userAgent())
	if header := cc.authHeader(); header != "" {
		req.Header.Set("Authorization", header)
	}
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return daemonUnreachableError{host: cc.host, cause: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= http.StatusBadRequest {
		return daemonResponseError(resp)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding the daemon's answer to GET %s: %w", path, err)
	}
	return nil
}

// rawURL is the request URL for path on the daemon at hostURL. Over a unix
// socket the host part is a placeholder, as the moby client does.
func rawURL(hostURL *url.URL, path string) string {
	host := hostURL.Host
	if hostURL.Scheme == "unix" {
		host = client.DummyHost
	}
	path, query, _ := strings.Cut(path, "?") // a query stays one
	return (&url.URL{Scheme: "http", Host: host, Path: hostURL.Path + path, RawQuery: query}).String()
}

// daemonResponseError turns an error answer into the same message the moby
// client produces: "Error response from daemon: <message>".
func daemonResponseError(resp *http.Response) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading the daemon's %s answer: %w", resp.Status, err)
	}
	message := strings.TrimSpace(string(body))
	if resp.Header.Get("Content-Type") == "application/json" {
		var answer common.ErrorResponse
		if json.Unmarshal(body, &answer) == nil && answer.Message != "" {
			message = strings.TrimSpace(answer.Message)
		}
	}
	if message == "" {
		message = fmt.Sprintf("%s (no error message)", resp.Status)
	}
	return fmt.Errorf("Error response from daemon: %s", message)
}

// daemonUnreachableError is a request that never reached the daemon.
type daemonUnreachableError struct {
	host  string
	cause error
}

func (e daemonUnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the skiff daemon at %s: %v", e.host, e.cause)
}

func (e daemonUnreachableError) Unwrap() error { return e.cause }

// explain rewrites a failed connection, from the moby client or getJSON,
// into docker's familiar hint; other errors pass through unchanged.
func (cc *cliContext) explain(err error) error {
	var unreachable daemonUnreachableError
	if !client.IsErrConnectionFailed(err) && !errors.As(err, &unreachable) {
		return err
	}
	if strings.Contains(err.Error(), "permission denied") {
		return fmt.Errorf("permission denied while trying to connect to the skiff daemon at %s", cc.host)
	}
	//lint:ignore ST1005 docker's wording, which users and scripts recognise
	return fmt.Errorf("Cannot connect to the skiff daemon at %s. Is the skiff daemon running?", cc.host)
}
