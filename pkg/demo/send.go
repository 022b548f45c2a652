package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Paths of the ingest APIs, appended to the base URLs.
const (
	TempoTracesPath = "/v1/traces"
	LokiPushPath    = "/loki/api/v1/push"
)

// Sender posts traces to Tempo's OTLP/HTTP receiver and their log lines to
// Loki's push API.
type Sender struct {
	Client *http.Client
	// TempoURL is Tempo's OTLP/HTTP receiver (http://tempo:4318); LokiURL
	// is Loki's HTTP API (http://loki:3100). A URL that already ends in its
	// ingest path is used as is.
	TempoURL, LokiURL string
	// Tenant is sent as X-Scope-OrgID to both, when not empty.
	Tenant string
}

// NewSender checks the URLs and returns a Sender for them.
func NewSender(client *http.Client, tempoURL, lokiURL, tenant string) (*Sender, error) {
	t, err := endpoint("--tempo", tempoURL, TempoTracesPath)
	if err != nil {
		return nil, err
	}
	l, err := endpoint("--loki", lokiURL, LokiPushPath)
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &Sender{Client: client, TempoURL: t, LokiURL: l, Tenant: tenant}, nil
}

// endpoint validates a base URL and appends the ingest path.
func endpoint(flag, raw, path string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s %q is not an http(s) URL: give the server's base URL, e.g. %s", flag, raw, example(flag))
	}
	s := strings.TrimRight(u.String(), "/")
	if strings.HasSuffix(s, path) {
		return s, nil
	}
	return s + path, nil
}

func example(flag string) string {
	if flag == "--tempo" {
		return "http://tempo:4318"
	}
	return "http://loki:3100"
}

// Send posts the traces to Tempo and their lines to Loki. It tries both
// even when the first fails, and reports every failure.
func (s *Sender) Send(ctx context.Context, traces ...*Trace) error {
	var errs []error
	if err := s.SendTraces(ctx, traces...); err != nil {
		errs = append(errs, err)
	}
	if err := s.SendLogs(ctx, traces...); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// SendTraces posts the spans as OTLP protobuf.
func (s *Sender) SendTraces(ctx context.Context, traces ...*Trace) error {
	body, err := MarshalTraces(traces...)
	if err != nil {
		return fmt.Errorf("encode OTLP: %w", err)
	}
	return s.post(ctx, "Tempo", s.TempoURL, "application/x-protobuf", body)
}

// SendLogs posts the log lines as Loki push JSON.
func (s *Sender) SendLogs(ctx context.Context, traces ...*Trace) error {
	body, err := json.Marshal(LokiPush(traces...))
	if err != nil {
		return fmt.Errorf("encode Loki push: %w", err)
	}
	return s.post(ctx, "Loki", s.LokiURL, "application/json", body)
}

// maxErrorBody is how much of an error response is quoted: Tempo and Loki
// answer errors with one short plain-text line.
const maxErrorBody = 512

func (s *Sender) post(ctx context.Context, server, u, contentType string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: build request: %w", server, err)
	}
	req.Header.Set("Content-Type", contentType)
	if s.Tenant != "" {
		req.Header.Set("X-Scope-OrgID", s.Tenant)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		// *url.Error repeats the method and URL this message already has.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return fmt.Errorf("%s: POST %s: %w (is it running and reachable?)", server, u, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, resp.Body) // drain, so the connection is reused
	if resp.StatusCode/100 == 2 {
		return nil
	}
	text := strings.TrimSpace(string(msg))
	hint := ""
	switch {
	case resp.StatusCode == http.StatusUnauthorized && strings.Contains(text, "org id"):
		hint = "; the server has auth enabled: pass its tenant with --tenant"
	case resp.StatusCode == http.StatusServiceUnavailable:
		hint = "; the server may still be starting, the next trace will try again"
	case resp.StatusCode == http.StatusBadRequest && server == "Loki" && strings.Contains(text, "structured metadata"):
		hint = "; enable limits_config.allow_structured_metadata (schema v13, tsdb) in Loki"
	}
	return fmt.Errorf("%s: POST %s: %s: %s%s", server, u, resp.Status, text, hint)
}
