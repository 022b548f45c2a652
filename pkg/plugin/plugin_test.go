package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/experimental/datasourcetest"
)

// grpcClient talks to NewDatasource served over the plugin's real gRPC
// protocol, in process (see TestMain). The SDK registers process-wide
// metrics when it serves, so there is one server for the whole package;
// every test gets its own data source instance through a fresh UID.
var grpcClient *datasourcetest.TestPluginClient

func TestMain(m *testing.M) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	addr := l.Addr().String()
	_ = l.Close()
	tp, err := datasourcetest.Manage(NewDatasource, datasourcetest.ManageOpts{Address: addr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the plugin:", err)
		os.Exit(1)
	}
	grpcClient = tp.Client
	code := m.Run()
	_ = tp.Shutdown()
	os.Exit(code)
}

// startPlugin returns the gRPC client Grafana would use.
func startPlugin(t *testing.T) *datasourcetest.TestPluginClient {
	t.Helper()
	return grpcClient
}

var instanceSeq atomic.Int64

// pluginContext is what Grafana sends with every call for one data source
// instance; each call to it is a new instance (new UID).
func pluginContext(t *testing.T, jsonData map[string]any, secure map[string]string) backend.PluginContext {
	t.Helper()
	raw, err := json.Marshal(jsonData)
	if err != nil {
		t.Fatal(err)
	}
	n := instanceSeq.Add(1)
	return backend.PluginContext{
		OrgID:    1,
		PluginID: PluginID,
		DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{
			ID: n, UID: fmt.Sprintf("tracegap-%d", n), Name: "Tracegap", Type: PluginID,
			JSONData: raw, DecryptedSecureJSONData: secure, Updated: time.Now(),
		},
	}
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// eventually polls cond until it holds or 30 s pass, and says whether it
// held. The bound is generous on purpose: on a busy 2-core CI machine an
// asynchronous close can take far longer than on a laptop, while a real
// failure never holds, so waiting longer costs time only when failing.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}
