package model

import "testing"

func TestNormalizeIDs(t *testing.T) {
	tests := []struct {
		in      string
		trace   string
		traceOK bool
		span    string
		spanOK  bool
	}{
		{"0af7651916cd43dd8448eb211c80319c", "0af7651916cd43dd8448eb211c80319c", true, "", false},
		{"0AF7651916CD43DD8448EB211C80319C", "0af7651916cd43dd8448eb211c80319c", true, "", false},
		// Tempo's search strips leading zeros.
		{"af7651916cd43dd8448eb211c80319c", "0af7651916cd43dd8448eb211c80319c", true, "", false},
		// A 64-bit Jaeger/Zipkin trace id is left-padded.
		{"8448eb211c80319c", "00000000000000008448eb211c80319c", true, "8448eb211c80319c", true},
		{" a4 ", "000000000000000000000000000000a4", true, "00000000000000a4", true},
		{"A4", "000000000000000000000000000000a4", true, "00000000000000a4", true},
		{"", "", false, "", false},
		{"span-4", "", false, "", false},
		{"abc123xyz", "", false, "", false},
		{"0af7651916cd43dd8448eb211c80319c0", "", false, "", false},
	}
	for _, tc := range tests {
		if got, ok := NormalizeTraceID(tc.in); got != tc.trace || ok != tc.traceOK {
			t.Errorf("NormalizeTraceID(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.trace, tc.traceOK)
		}
		if got, ok := NormalizeSpanID(tc.in); got != tc.span || ok != tc.spanOK {
			t.Errorf("NormalizeSpanID(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.span, tc.spanOK)
		}
	}
}
