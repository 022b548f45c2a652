package httpx

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"testing/iotest"
)

// TestReleaseReusesBuffers: answers read one after another into released
// buffers are each whole and exact, whatever their size and whether they
// announce it (Content-Length) or not (chunked), and a released Response
// no longer shows the body another answer now owns.
func TestReleaseReusesBuffers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	bodies := make([][]byte, 40)
	for i := range bodies {
		n := []int{0, 1, 511, 512, 513, 70_000, 1 << 20, 3<<20 + 7}[i%8]
		b := make([]byte, n)
		for j := range b {
			b[j] = byte('a' + rng.IntN(26))
		}
		bodies[i] = b
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(r.URL.Query().Get("i"))
		if i%2 == 0 {
			w.Header().Set("Content-Length", strconv.Itoa(len(bodies[i])))
		} else if f, ok := w.(http.Flusher); ok {
			f.Flush() // chunked: no length announced
		}
		_, _ = w.Write(bodies[i])
	}))
	t.Cleanup(srv.Close)
	u := NewUpstream("Loki", "loki", srv.URL, srv.Client(), "")
	for i := range bodies {
		resp, err := u.Get(context.Background(), "/", map[string][]string{"i": {strconv.Itoa(i)}}, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(resp.Body, bodies[i]) {
			t.Fatalf("answer %d: %d bytes, want %d, or other bytes", i, len(resp.Body), len(bodies[i]))
		}
		resp.Release()
		if resp.Body != nil {
			t.Fatalf("answer %d still shows its body after Release", i)
		}
		resp.Release() // twice is harmless
	}
}

// TestReadAllLikeIOReadAll: readAll returns what io.ReadAll returns, data
// and error, from any buffer it starts with.
func TestReadAllLikeIOReadAll(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 10_000)
	for _, start := range [][]byte{nil, make([]byte, 0, 3), make([]byte, 5, 100_001), make([]byte, 0, 1<<20)} {
		for _, r := range []func() io.Reader{
			func() io.Reader { return bytes.NewReader(data) },
			func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data[:3000])) },
			func() io.Reader { return io.LimitReader(bytes.NewReader(data), 777) },
		} {
			want, wantErr := io.ReadAll(r())
			got, gotErr := readAll(start[:0], r())
			if !bytes.Equal(got, want) || (wantErr == nil) != (gotErr == nil) {
				t.Errorf("start cap %d: %d bytes, err %v; io.ReadAll %d bytes, err %v", cap(start), len(got), gotErr, len(want), wantErr)
			}
		}
	}
}
