package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestRunOnceEndToEnd(t *testing.T) {
	var tempoHits, lokiHits atomic.Int32
	tempo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/traces" && r.Header.Get("X-Scope-OrgID") == "acme" {
			tempoHits.Add(1)
		}
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"partialSuccess":{}}`)
	}))
	defer tempo.Close()
	loki := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/loki/api/v1/push" && r.Header.Get("X-Scope-OrgID") == "acme" {
			lokiHits.Add(1)
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer loki.Close()

	err := run([]string{"--once", "--seed", "5", "--tenant", "acme", "--tempo", tempo.URL, "--loki", loki.URL}, io.Discard)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if tempoHits.Load() != 1 || lokiHits.Load() != 1 {
		t.Errorf("Tempo got %d traces, Loki %d pushes with the tenant; want 1 each", tempoHits.Load(), lokiHits.Load())
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate", "0/s"}, "rate"},
		{[]string{"--tempo", "tempo:4318"}, "--tempo"},
		{[]string{"--loki", "loki"}, "--loki"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"--no-such-flag"}, "no-such-flag"},
	} {
		err := run(tc.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v, want an error mentioning %q", tc.args, err, tc.want)
		}
	}
}
