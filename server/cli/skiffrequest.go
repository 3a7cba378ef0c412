package cli

import (
	"context"
	"io"
	"net"
	"net/http"

	"github.com/moby/moby/client"
)

// skiffRequest sends method path to one of skiff's own endpoints over the
// API client's dialer, with the headers getJSON sends, and returns the
// answer; error statuses come back as the daemon's message. The caller
// closes the body, which may stream.
func (cc *cliContext) skiffRequest(ctx context.Context, method, path string) (*http.Response, error) {
	return cc.skiffRequestBody(ctx, method, path, "", nil)
}

// skiffRequestBody is skiffRequest with a body of the given content type.
func (cc *cliContext) skiffRequestBody(ctx context.Context, method, path, contentType string, body io.Reader) (*http.Response, error) {
	api, err := cc.daemon()
	if err != nil {
		return nil, err
	}
	hostURL, err := client.ParseHostURL(api.DaemonHost())
	if err != nil {
		return nil, err
	}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return api.Dialer()(ctx)
		},
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL(hostURL, path), body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", cc.userAgent())
	if header := cc.authHeader(); header != "" {
		req.Header.Set("Authorization", header)
	}
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		transport.CloseIdleConnections()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, daemonUnreachableError{host: cc.host, cause: err}
	}
	resp.Body = &closingBody{ReadCloser: resp.Body, transport: transport}
	if resp.StatusCode >= http.StatusBadRequest {
		defer resp.Body.Close()
		return nil, daemonResponseError(resp)
	}
	return resp, nil
}

// closingBody releases its transport's connection with the body.
type closingBody struct {
	io.ReadCloser
	transport *http.Transport
}

func (b *closingBody) Close() error {
	err := b.ReadCloser.Close()
	b.transport.CloseIdleConnections()
	return err
}
