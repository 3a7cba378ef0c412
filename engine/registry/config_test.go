package registry

import (
	"slices"
	"testing"
)

// The daemon's settings fill what a request leaves unset, and only that.
func TestConfigFillsWhatTheRequestLeavesUnset(t *testing.T) {
	cfg := Config{
		Insecure:               []string{"10.0.0.0/8"},
		Mirrors:                []string{"https://mirror.example/"},
		MaxConcurrentDownloads: 7,
		MaxConcurrentUploads:   9,
		IndexURL:               "http://127.0.0.1:1",
	}

	pull := cfg.FillPull(Options{})
	if !slices.Equal(pull.Insecure, cfg.Insecure) || !slices.Equal(pull.Mirrors, cfg.Mirrors) || pull.MaxConcurrentDownloads != 7 {
		t.Errorf("FillPull(empty) = %+v", pull)
	}
	pull = cfg.FillPull(Options{Insecure: []string{"reg:5000"}, Mirrors: []string{"https://other/"}, MaxConcurrentDownloads: 1})
	if !slices.Equal(pull.Insecure, []string{"reg:5000"}) || !slices.Equal(pull.Mirrors, []string{"https://other/"}) || pull.MaxConcurrentDownloads != 1 {
		t.Errorf("FillPull(set) changed the request's own settings: %+v", pull)
	}

	push := cfg.FillPush(PushOptions{})
	if !slices.Equal(push.Insecure, cfg.Insecure) || push.MaxConcurrentUploads != 9 {
		t.Errorf("FillPush(empty) = %+v", push)
	}
	push = cfg.FillPush(PushOptions{Insecure: []string{"reg:5000"}, MaxConcurrentUploads: 2})
	if !slices.Equal(push.Insecure, []string{"reg:5000"}) || push.MaxConcurrentUploads != 2 {
		t.Errorf("FillPush(set) changed the request's own settings: %+v", push)
	}

	search := cfg.FillSearch(SearchOptions{})
	if !slices.Equal(search.Insecure, cfg.Insecure) || search.IndexURL != cfg.IndexURL {
		t.Errorf("FillSearch(empty) = %+v", search)
	}
}
