package registry

import (
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// dockerError says a registry's refusal in Docker's words, with the
// not-found class the API answers 404 for, as moby's pull does:
//
//	pull access denied for NAME, repository does not exist or may require 'docker login': denied: ...
//	manifest for NAME:TAG not found: manifest unknown: manifest unknown
//	no matching manifest for linux/amd64 in the manifest list entries
//
// Other errors are returned as they are.
func dockerError(err error, named reference.Named, platform v1.Platform) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		for _, d := range terr.Errors {
			switch d.Code {
			case transport.ManifestUnknownErrorCode:
				return notFound(fmt.Sprintf("manifest for %s not found: %s", reference.FamiliarString(named), diagnostic(d)))
			case transport.NameUnknownErrorCode, transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				return notFound(accessDenied(named) + ": " + diagnostic(d))
			}
		}
		if len(terr.Errors) == 0 && (terr.StatusCode == http.StatusNotFound || terr.StatusCode == http.StatusUnauthorized) {
			return notFound(accessDenied(named))
		}
		return err
	}
	// go-containerregistry says this in words only (remote/index.go).
	if strings.Contains(err.Error(), "no child with platform") {
		return notFound(fmt.Sprintf("no matching manifest for %s in the manifest list entries", platformString(platform)))
	}
	return err
}

func accessDenied(named reference.Named) string {
	return fmt.Sprintf("pull access denied for %s, repository does not exist or may require 'docker login'", reference.FamiliarName(named))
}

// diagnostic is a registry's error as distribution's errcode prints it: the
// code in lower case words, then the message.
func diagnostic(d transport.Diagnostic) string {
	code := strings.ToLower(strings.ReplaceAll(string(d.Code), "_", " "))
	if d.Message == "" {
		return code
	}
	return code + ": " + d.Message
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

func notFound(msg string) error { return errdefs.ErrNotFound.WithMessage(msg) }

// hostPlatform is the platform pulled when Options.Platform is nil.
func hostPlatform() v1.Platform { return v1.Platform{OS: "linux", Architecture: runtime.GOARCH} }

// accountRefused gives a registry's refusal of the account a push used
// (401 or 403) the unauthenticated class: the API answers 401, and the
// docker CLI then asks to log in, as with Docker.
func accountRefused(err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden) {
		return classed{err, errdefs.ErrUnauthenticated}
	}
	return err
}

// classed gives an error an errdefs class, for the API's status code,
// without the class's name in its message.
type classed struct {
	error
	class error
}

func (c classed) Unwrap() error        { return c.error }
func (c classed) Is(target error) bool { return errors.Is(c.class, target) }
