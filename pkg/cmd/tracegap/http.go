package main

import (
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// checkURL validates an upstream base URL and returns it without
// credentials, for messages. It never echoes the raw value: a URL can carry
// a password.
func checkURL(flagName, raw, example string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", usagef("%s is not an http(s) base URL; write it like %s", flagName, example)
	}
	return u.Redacted(), nil
}

// envName is what a shell accepts as an environment variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// bearerToken reads the token from the environment variable named by
// --token-env. The token never comes from a flag (it would sit in shell
// history and ps output), and no message ever quotes it: a value that is
// not a variable name is probably the token itself, so it is not echoed.
func bearerToken(name string) (string, error) {
	if name == "" {
		return "", nil
	}
	if !envName.MatchString(name) {
		return "", usagef("--token-env takes the NAME of an environment variable that holds the token (e.g. --token-env TRACEGAP_TOKEN after export TRACEGAP_TOKEN=...), not the token itself")
	}
	token := strings.TrimSpace(os.Getenv(name))
	if token == "" {
		return "", usagef("the environment variable %s named by --token-env is not set or empty; export it with the bearer token first", name)
	}
	return token, nil
}

// newHTTPClient returns the client for Tempo and Loki: a timeout per
// request, and the bearer token (if any) sent only to the hosts of the
// given base URLs, so a redirect elsewhere never carries it.
func newHTTPClient(timeout time.Duration, token string, bases ...string) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	hc := &http.Client{Timeout: timeout, Transport: tr}
	if token == "" {
		return hc
	}
	hosts := map[string]bool{}
	for _, b := range bases {
		if u, err := url.Parse(strings.TrimSpace(b)); err == nil && u.Host != "" {
			hosts[u.Scheme+"://"+u.Host] = true
		}
	}
	hc.Transport = &bearer{token: token, hosts: hosts, next: tr}
	return hc
}

// bearer adds "Authorization: Bearer <token>" to requests for known hosts.
type bearer struct {
	token string
	hosts map[string]bool // scheme://host[:port]
	next  http.RoundTripper
}

// RoundTrip sends the request, with the token when it goes to a known host.
func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	if !b.hosts[r.URL.Scheme+"://"+r.URL.Host] {
		return b.next.RoundTrip(r)
	}
	r = r.Clone(r.Context()) // a RoundTripper must not modify its request
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}
