package dockerapi

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/skiff-dev/skiff/engine/registry"
)

func TestRequestCredentials(t *testing.T) {
	b64 := base64.URLEncoding.EncodeToString
	alice := registry.Credentials{Username: "alice", Password: "pw"}
	for _, tc := range []struct {
		name, header, host string
		registry           string // the pull's or push's; 127.0.0.1:5000 when empty
		want               registry.Credentials
		found, bad         bool
	}{
		{name: "no header", host: "127.0.0.1:5000"},
		{name: "anonymous, as docker pull sends it", header: "e30=", host: "127.0.0.1:5000"},
		{name: "account for its server", header: b64([]byte(`{"username":"alice","password":"pw","serveraddress":"127.0.0.1:5000"}`)), host: "127.0.0.1:5000", want: alice, found: true},
		{name: "unpadded", header: base64.RawURLEncoding.EncodeToString([]byte(`{"username":"alice","password":"pw"}`)), host: "127.0.0.1:5000", want: alice, found: true},
		{name: "auth field of config.json", header: b64([]byte(`{"auth":"` + base64.StdEncoding.EncodeToString([]byte("alice:pw")) + `"}`)), registry: "x.example", host: "x.example", want: alice, found: true},
		// No server named: the account is the pull's registry's, not a
		// mirror's or any other host's.
		{name: "no server, another host", header: b64([]byte(`{"username":"alice","password":"pw"}`)), registry: "docker.io", host: "mirror.example"},
		{name: "Docker Hub's v1 address", header: b64([]byte(`{"username":"alice","password":"pw","serveraddress":"https://index.docker.io/v1/"}`)), host: "docker.io", want: alice, found: true},
		{name: "another server's account", header: b64([]byte(`{"username":"alice","password":"pw","serveraddress":"127.0.0.1:5000"}`)), host: "127.0.0.2:5000"},
		{name: "not base64", header: "%%%", bad: true},
		{name: "not JSON", header: b64([]byte("alice:pw")), bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/images/x/push", nil)
			if tc.header != "" {
				req.Header.Set("X-Registry-Auth", tc.header)
			}
			reg := tc.registry
			if reg == "" {
				reg = "127.0.0.1:5000"
			}
			lookup, err := requestCredentials(echo.New().NewContext(req, httptest.NewRecorder()), reg)
			if tc.bad {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got registry.Credentials
			var ok bool
			if lookup != nil {
				got, ok = lookup(tc.host)
			}
			if got != tc.want || ok != tc.found {
				t.Fatalf("credentials for %s: %v, %v; want %v, %v", tc.host, got, ok, tc.want, tc.found)
			}
		})
	}
}
