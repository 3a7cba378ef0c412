package wire

import "time"

// Login is the body of POST /skiff/login: exactly one of the daemon's
// access token or the admin password. Credentials go only in the body,
// never in the URL. The answer is 204 with the session cookie.
type Login struct {
	Token    string `json:"token,omitempty"`
	Password string `json:"password,omitempty"`
}

// Session answers GET /skiff/session for a logged-in client.
type Session struct {
	// CSRFToken must be sent back as the X-CSRF-Token header of every
	// request other than GET, HEAD and OPTIONS made with the session.
	CSRFToken string `json:"csrfToken"`
	// ExpiresAt is when the session ends if unused; each use moves it on.
	ExpiresAt time.Time `json:"expiresAt"`
}

// Passwd is the body of POST /skiff/passwd, which only the unix socket
// serves: `skiff passwd` sets the admin password with it.
type Passwd struct {
	Password string `json:"password"`
}
