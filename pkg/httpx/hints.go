package httpx

import "fmt"

// Hints name, in messages, what a person changes to fix a problem with an
// upstream. In Grafana that is the data source settings (the default,
// DataSourceHints); in the terminal it is the command's flags. They live in
// one place so every message of both speakers, pkg/tempo and pkg/loki, is
// worded for whoever reads it.
type Hints struct {
	// URL names the base URL: "the Tempo URL (tempoUrl)".
	URL string
	// Auth names the credentials and tenant: "the Tempo authentication
	// (tempoAuth) and tenant id (tenantId)".
	Auth string
	// Tenant names the tenant: "the tenant id (tenantId)".
	Tenant string
	// Where is appended to URL, Auth and Tenant: " in the data source
	// settings", or "" when they already say it (flags).
	Where string
	// TLS says how to make a certificate trusted.
	TLS string
	// Timeout says how to allow a request more time.
	Timeout string
	// Limit says how to allow a larger answer ("" : narrow the query).
	Limit string
	// LineLimit names the cap of log lines per trace: "the log line limit,
	// lokiMaxLines".
	LineLimit string
	// From names who sends the requests: "Grafana".
	From string
}

// DataSourceHints are the hints for the data source: its settings, named by
// their keys, prefixed with prefix ("tempo", "loki"); limitSetting is the
// key of the response size limit (maxTraceMB, maxLogsMB), "" for none.
func DataSourceHints(name, prefix, limitSetting string) Hints {
	h := Hints{
		URL:       fmt.Sprintf("the %s URL (%sUrl)", name, prefix),
		Auth:      fmt.Sprintf("the %s authentication (%sAuth) and tenant id (tenantId)", name, prefix),
		Tenant:    "the tenant id (tenantId)",
		Where:     " in the data source settings",
		TLS:       fmt.Sprintf("add its CA certificate (%sTlsCACert) or turn on skip TLS verify (%sTlsSkipVerify) in the data source settings", prefix, prefix),
		Timeout:   "raise timeoutSeconds in the data source settings",
		LineLimit: "the log line limit, lokiMaxLines",
		From:      "Grafana",
	}
	if limitSetting != "" {
		h.Limit = fmt.Sprintf("raise %s in the data source settings", limitSetting)
	}
	return h
}

// SetHints replaces the hints of u's messages (the terminal names flags).
func (u *Upstream) SetHints(h Hints) { u.hints = h }

// Hints returns the hints of u's messages, for the speakers' own messages.
func (u *Upstream) Hints() Hints { return u.hints }

// hintsOr returns h, or the data source's hints when h is nil (errors
// built without an Upstream, as tests do).
func hintsOr(h *Hints, name, prefix string) Hints {
	if h != nil {
		return *h
	}
	return DataSourceHints(name, prefix, "")
}
