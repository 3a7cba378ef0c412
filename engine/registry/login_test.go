package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/enginetest"
	skiffregistry "github.com/skiff-dev/skiff/engine/registry"
	"github.com/skiff-dev/skiff/engine/registry/credstore"
	"github.com/skiff-dev/skiff/engine/registry/registrytest"
)

func TestLoginThenPushToARegistryWithAnAccount(t *testing.T) {
	ctx := context.Background()
	const user, password = "skiffer", "s3cret-Passw0rd"
	reg := registrytest.Start(t, registrytest.WithHtpasswd(t, user, password))
	e := enginetest.Open(t)
	ref := reg.Host + "/private/busybox:v1"
	importImage(t, e, ref)

	if _, err := e.ImagePush(ctx, ref, skiffregistry.PushOptions{}); !strings.Contains(fmt.Sprint(err), "UNAUTHORIZED") {
		t.Fatalf("push without an account: %v, want the registry's UNAUTHORIZED", err)
	}
	_, _, err := e.RegistryLogin(ctx, reg.Host, skiffregistry.Credentials{Username: user, Password: "wrong"})
	want := fmt.Sprintf("login attempt to http://%s/v2/ failed with status: 401 Unauthorized", reg.Host)
	if !errdefs.IsUnauthorized(err) || err.Error() != want {
		t.Fatalf("login with a wrong password: %v, want unauthenticated %q", err, want)
	}
	if hosts, _ := e.RegistryLogins(ctx); len(hosts) != 0 {
		t.Fatalf("a refused login stored an account for %v", hosts)
	}

	status, token, err := e.RegistryLogin(ctx, "http://"+reg.Host+"/", skiffregistry.Credentials{Username: user, Password: password})
	if err != nil || status != "Login Succeeded" || token != "" {
		t.Fatalf("login: %q %q %v, want Login Succeeded", status, token, err)
	}
	if hosts, _ := e.RegistryLogins(ctx); len(hosts) != 1 || hosts[0] != reg.Host {
		t.Fatalf("logins %v, want [%s]", hosts, reg.Host)
	}
	file := filepath.Join(e.DataRoot(), credstore.FileName)
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", file, fi.Mode().Perm())
	}
	if _, err := e.ImagePush(ctx, ref, skiffregistry.PushOptions{}); err != nil {
		t.Fatalf("push after login: %v", err)
	}
	// The stored account pulls too.
	if _, err := e.ImagePull(ctx, ref, engine.ImagePullOptions{}); err != nil {
		t.Fatalf("pull after login: %v", err)
	}

	if err := e.RegistryLogout(ctx, reg.Host); err != nil {
		t.Fatal(err)
	}
	if hosts, _ := e.RegistryLogins(ctx); len(hosts) != 0 {
		t.Fatalf("logins after logout %v, want none", hosts)
	}
	if _, err := e.ImagePush(ctx, ref, skiffregistry.PushOptions{}); err == nil {
		t.Fatal("push after logout succeeded")
	}
	// A request's own account (X-Registry-Auth) serves without a login.
	own := func(host string) (skiffregistry.Credentials, bool) {
		return skiffregistry.Credentials{Username: user, Password: password}, host == reg.Host
	}
	if _, err := e.ImagePush(ctx, ref, skiffregistry.PushOptions{Credentials: own}); err != nil {
		t.Fatalf("push with the request's account: %v", err)
	}
}

func TestCredentialsArePrintedRedacted(t *testing.T) {
	c := skiffregistry.Credentials{Username: "alice", Password: "pw-123456", IdentityToken: "idtok-7890", RegistryToken: "regtok-5555"}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("login", "creds", c)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("login", "creds", c)
	for _, out := range []string{
		fmt.Sprint(c), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s", c),
		fmt.Sprintf("%v", &c), fmt.Sprintf("%+v", []skiffregistry.Credentials{c}), logged.String(),
	} {
		for _, secret := range []string{c.Password, c.IdentityToken, c.RegistryToken} {
			if strings.Contains(out, secret) {
				t.Errorf("%q shows a secret", out)
			}
		}
		if !strings.Contains(out, "alice") {
			t.Errorf("%q does not name the user", out)
		}
	}
}

// recorder is an HTTP server on a loopback address of its own that notes
// the Authorization header of every request it gets.
type recorder struct {
	host    string
	mu      sync.Mutex
	headers []string
}

func startRecorder(t *testing.T, ip string, h http.HandlerFunc) *recorder {
	t.Helper()
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{host: l.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.headers = append(r.headers, req.Header.Get("Authorization"))
		r.mu.Unlock()
		h(w, req)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return r
}

func (r *recorder) authorizations() (requests int, withAuth []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range r.headers {
		if h != "" {
			withAuth = append(withAuth, h)
		}
	}
	return len(r.headers), withAuth
}

func TestCredentialsStayWithTheirRegistry(t *testing.T) {
	ctx := context.Background()
	creds := skiffregistry.Credentials{Username: "alice", Password: "only-for-the-registry"}

	t.Run("token realm on another host", func(t *testing.T) {
		// The token service on 127.0.0.2 hands out a token to anyone.
		realm := startRecorder(t, "127.0.0.2", func(w http.ResponseWriter, _ *http.Request) {
			json.NewEncoder(w).Encode(map[string]string{"token": "anonymous-token"})
		})
		reg := startRecorder(t, "127.0.0.1", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="test"`, realm.host))
			w.WriteHeader(http.StatusUnauthorized)
		})
		// go-containerregistry refuses a realm on a private address of
		// another host; any request that reaches it must carry nothing.
		err := skiffregistry.Login(ctx, reg.host, creds, skiffregistry.LoginOptions{})
		if err == nil {
			t.Fatal("login succeeded against a registry that refuses every request")
		}
		if n, auth := realm.authorizations(); len(auth) != 0 {
			t.Fatalf("the foreign token realm got %d requests, these with credentials: %q", n, auth)
		}
	})

	t.Run("uploads and redirects to another host", func(t *testing.T) {
		// Blob storage on 127.0.0.3, as registries keep blobs on storage
		// hosts of their own: it takes uploads and knows no blob.
		storage := startRecorder(t, "127.0.0.3", func(w http.ResponseWriter, r *http.Request) {
			switch r.Method {
			case http.MethodPatch:
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusAccepted)
			case http.MethodPut:
				w.WriteHeader(http.StatusCreated)
			default:
				http.NotFound(w, r)
			}
		})
		// The registry wants basic auth, hands out upload sessions on the
		// storage host and redirects blob checks there.
		reg := startRecorder(t, "127.0.0.1", func(w http.ResponseWriter, r *http.Request) {
			if user, pass, ok := r.BasicAuth(); !ok || user != creds.Username || pass != creds.Password {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			switch {
			case r.URL.Path == "/v2/":
			case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/blobs/uploads/"):
				w.Header().Set("Location", "http://"+storage.host+"/upload/1")
				w.WriteHeader(http.StatusAccepted)
			case r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/blobs/"):
				http.Redirect(w, r, "http://"+storage.host+"/blob", http.StatusTemporaryRedirect)
			case r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/v1"):
				w.WriteHeader(http.StatusCreated)
			default:
				http.NotFound(w, r)
			}
		})
		e := enginetest.Open(t)
		ref := reg.host + "/test/redirected:v1"
		importImage(t, e, ref)
		_, err := e.ImagePush(ctx, ref, skiffregistry.PushOptions{
			Credentials: func(host string) (skiffregistry.Credentials, bool) { return creds, host == reg.host },
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, auth := reg.authorizations(); len(auth) == 0 {
			t.Fatal("the registry never got the account: the test shows nothing")
		}
		// The layer's PATCH and PUT, the config's HEAD (redirected) and PUT.
		if n, auth := storage.authorizations(); n < 4 || len(auth) != 0 {
			t.Fatalf("the storage host got %d requests, these with credentials: %q; want the uploads and the blob check, without credentials", n, auth)
		}
	})
}
