package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/tracegap/correlator/pkg/hugepages"
	"github.com/tracegap/correlator/pkg/internal/fixtures"
	"github.com/tracegap/correlator/pkg/plugin"
	"github.com/tracegap/correlator/pkg/settings"
)

// lockedBuffer collects the plugin's stderr (its logs) for failure output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBinaryHandshakeAndHealth builds the real executable, starts it the way
// Grafana does (hashicorp/go-plugin: magic-cookie env, handshake line on
// stdout), connects over the announced gRPC address and asks for a health
// check against the real captures.
func TestBinaryHandshakeAndHealth(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin binary")
	}
	bin := filepath.Join(t.TempDir(), "gpx_tracegap")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		grpcplugin.MagicCookieKey+"="+grpcplugin.MagicCookieValue,
		"PLUGIN_PROTOCOL_VERSIONS=2",
		settings.HugePagesEnv+"=", // the default, whatever the environment says
	)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// exited is closed when the process is gone; waitErr is then set.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("plugin stderr:\n%s", stderr.String())
		}
	})

	// go-plugin's handshake: CORE-VERSION|APP-VERSION|NETWORK|ADDR|PROTOCOL
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		// Keep draining so the plugin never blocks on a full pipe.
		for sc.Scan() {
		}
	}()
	var line string
	select {
	case line = <-lines:
	case <-exited:
		t.Fatalf("the plugin exited before the handshake: %v", waitErr)
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("no handshake line within 30s")
	}
	parts := strings.Split(line, "|")
	if len(parts) < 5 || parts[0] != "1" || parts[1] != "2" || parts[4] != "grpc" {
		t.Fatalf("handshake %q, want 1|2|<network>|<addr>|grpc", line)
	}
	target := parts[3]
	switch parts[2] {
	case "unix":
		target = "unix://" + target
	case "tcp":
	default:
		t.Fatalf("handshake network %q", parts[2])
	}
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()

	tempoSrv, lokiSrv := fixtures.Tempo(t), fixtures.Loki(t)
	jsonData, _ := json.Marshal(map[string]any{"tempoUrl": tempoSrv.URL, "lokiUrl": lokiSrv.URL})
	pCtx := backend.ToProto().PluginContext(backend.PluginContext{
		OrgID: 1, PluginID: plugin.PluginID,
		DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{ID: 1, UID: "tg", Name: "Tracegap", JSONData: jsonData, Updated: time.Now()},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := pluginv2.NewDiagnosticsClient(conn).CheckHealth(ctx, &pluginv2.CheckHealthRequest{PluginContext: pCtx})
	if err != nil {
		t.Fatalf("CheckHealth over the binary's gRPC: %v", err)
	}
	if res.Status != pluginv2.CheckHealthResponse_OK || res.Message != "Tempo v3.0.3 and Loki v3.7.6 reachable" {
		t.Errorf("health %v %q", res.Status, res.Message)
	}
	checkHugePages(t, cmd.Process.Pid)

	// Stop it the way Grafana does: go-plugin's controller service. The
	// server may stop before it answers (Unavailable), as go-plugin expects.
	err = conn.Invoke(ctx, "/plugin.GRPCController/Shutdown", &emptypb.Empty{}, &emptypb.Empty{})
	if code := status.Code(err); code != codes.OK && code != codes.Unavailable {
		t.Errorf("graceful shutdown: %v", err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Error("the plugin did not exit after Shutdown")
	}
}

// checkHugePages checks, where the plugin reserves (hugepages.Eligible),
// that the running plugin has advised its heap as the default huge_pages
// says: the mappings flagged for huge pages (VmFlags "hg") add up to at
// least that (the runtime flags a few of its own, far smaller).
func checkHugePages(t *testing.T, pid int) {
	// The plugin inherits this process's environment, GODEBUG included.
	if mode, ok := hugepages.Eligible(os.Getenv("GODEBUG")); !ok {
		t.Logf("THP mode %q (or GODEBUG, or the platform): the plugin does not reserve, huge pages not checked", mode)
		return
	}
	smaps, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		t.Fatal(err)
	}
	var size, advised int64
	for line := range strings.Lines(string(smaps)) {
		if v, ok := strings.CutPrefix(line, "Size:"); ok {
			_, _ = fmt.Sscanf(strings.TrimSpace(v), "%d kB", &size)
		}
		if v, ok := strings.CutPrefix(line, "VmFlags:"); ok && slices.Contains(strings.Fields(v), "hg") {
			advised += size << 10
		}
	}
	if advised < settings.DefaultHugePages {
		t.Errorf("the plugin's mappings advised for huge pages add up to %d MiB; want at least the default huge_pages, %d MiB", advised>>20, settings.DefaultHugePages>>20)
	}
}
