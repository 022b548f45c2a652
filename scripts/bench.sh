#!/usr/bin/env bash
# Runs the benchmarks behind BENCHMARKS.md and summarises them.
#
#   scripts/bench.sh [count] [outdir]
#
# count (default 6, the fewest with which benchstat gives a confidence
# interval) is passed to -count; medians are what BENCHMARKS.md reports.
# Raw output goes to outdir/bench.txt (default $TMPDIR/tracegap-bench), the
# machine and commit to outdir/machine.txt, and a summary with the ratios
# against the naive baselines to outdir/summary.txt and the terminal. If
# the Go module proxy serves it, benchstat's table is added (it is run with
# `go run …@latest`, never added to go.mod).
set -euo pipefail
cd "$(dirname "$0")/.."

count=${1:-6}
out=${2:-${TMPDIR:-/tmp}/tracegap-bench}
mkdir -p "$out"
raw="$out/bench.txt"
: >"$raw"

{
	commit=$(git rev-parse --short HEAD)
	git diff --quiet HEAD -- pkg || commit="$commit+uncommitted"
	echo "commit:  $commit"
	echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(go version | cut -d' ' -f3-)"
	echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at start"
	echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} | tee "$out/machine.txt"

# bench PACKAGE REGEXP [BENCHTIME]
bench() {
	echo "== go test -run '^\$' -bench '$2' -benchmem -count $count -benchtime ${3:-1s} $1" >&2
	go test -run '^$' -bench "$2" -benchmem -count "$count" -benchtime "${3:-1s}" "$1" |
		grep -v '^{' | tee -a "$raw" | grep -E '^Benchmark' >&2 || true
}

# Stages, cheapest first.
bench ./pkg/loki '^BenchmarkDecodeQueryRange$'
bench ./pkg/internal/bigtrace '^BenchmarkDecodeFakePage$'
bench ./pkg/tempo '^BenchmarkDecodeTraceProtobuf$'
bench ./pkg/correlate '^BenchmarkAnalyze$'
bench ./pkg/frames '^BenchmarkTraceAndLogsFrames$'
# End to end and its split, on the 10 000-span, 100 000-line trace (the
# fakes run in a child process; a query takes about a second).
bench ./pkg/plugin '^BenchmarkBigTrace(Query|Stages)$' 5x
bench ./pkg/plugin '^BenchmarkBigTraceLokiSplit$' 5x
# As Grafana sees it: the built binary over go-plugin and gRPC, a fresh
# process per measured query (BENCHMARKS.md, "As Grafana sees it").
bench ./pkg '^BenchmarkProcess(TraceQuery|ConcurrentQueries)$' 2x

# median NAME-REGEXP: the median ns/op of the benchmarks whose name matches.
median() {
	awk -v re="$1" '$1 ~ re { for (i = 3; i < NF; i++) if ($(i+1) == "ns/op") print $i }' "$raw" |
		sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "NaN"; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2] + v[NR/2+1]) / 2 }'
}
# metric NAME-REGEXP UNIT: the median of a reported metric.
metric() {
	awk -v re="$1" -v unit="$2" '$1 ~ re { for (i = 3; i < NF; i++) if ($(i+1) == unit) print $i }' "$raw" |
		sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "NaN"; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2] + v[NR/2+1]) / 2 }'
}
ms() { awk -v ns="$1" 'BEGIN { printf "%.1f ms", ns / 1e6 }'; }
mbs() { awk -v v="$1" 'BEGIN { printf "%.0f MB/s", v }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f×", a / b }'; }

{
	echo
	echo "Medians of $count runs; $(head -2 "$out/machine.txt" | tr -s ' ' | paste -sd';' | sed 's/;/; /')"
	echo
	echo "Loki query_range decoding (MB/s), against encoding/json into map[string]any:"
	for in in synthetic-5000-categorized synthetic-5000-merged capture-line-filter-categorized; do
		t=$(median "DecodeQueryRange/$in/tracegap-")
		j=$(median "DecodeQueryRange/$in/encoding-json-map-")
		echo "  $in: $(mbs "$(metric "DecodeQueryRange/$in/tracegap-" MB/s)") vs $(mbs "$(metric "DecodeQueryRange/$in/encoding-json-map-" MB/s)"): $(ratio "$j" "$t") faster"
	done
	t=$(median "DecodeFakePage/tracegap-")
	j=$(median "DecodeFakePage/encoding-json-map-")
	echo "  end-to-end page (5 000 entries): $(mbs "$(metric "DecodeFakePage/tracegap-" MB/s)") vs $(mbs "$(metric "DecodeFakePage/encoding-json-map-" MB/s)"): $(ratio "$j" "$t") faster"
	echo
	v1=$(median 'DecodeTraceProtobuf/v1-10000-spans-')
	whole=$(median 'DecodeTraceProtobuf/v1-whole-unmarshal-10000-spans-')
	echo "Tempo protobuf decoding, 10 000 spans: v2 $(ms "$(median 'DecodeTraceProtobuf/v2-10000-spans-')"), v1 $(ms "$v1") (target ≤ 30 ms)"
	echo "  against one unmarshal of the whole message: $(ms "$whole"), $(ratio "$whole" "$v1") slower"
	echo
	a1=$(median 'Analyze/spans=1000/')
	a10=$(median 'Analyze/spans=10000/')
	a100=$(median 'Analyze/spans=100000/')
	echo "Engine, 10 log lines per span: 1k $(ms "$a1"), 10k $(ms "$a10") (target ≤ 100 ms), 100k $(ms "$a100")"
	echo "  scaling 1k→10k $(ratio "$a10" "$a1") (target ≤ 12×), 10k→100k $(ratio "$a100" "$a10")"
	echo
	echo "Frames (10k spans, 100k lines): trace $(ms "$(median 'TraceAndLogsFrames/trace-')"), logs $(ms "$(median 'TraceAndLogsFrames/logs-')"), both $(ms "$(median 'TraceAndLogsFrames/trace\+logs-')")"
	echo
	e=$(median 'BigTraceQuery/instance-')
	echo "End to end, 10 000 spans and $(metric 'BigTraceQuery/instance-' lines) lines: $(ms "$e") per query (target ≤ 1 s)"
	echo "  peak heap growth $(mib "$(metric 'BigTraceQuery/instance-' peak-B)") for $(mib "$(metric 'BigTraceQuery/instance-' recv-B)") received: $(awk -v x="$(metric 'BigTraceQuery/instance-' heap-x)" 'BEGIN { printf "%.2f", x }')× (target ≤ 4×)"
	echo "  split: Tempo fetch+decode $(ms "$(median 'BigTraceStages/tempo-')"), Loki fetch+decode $(ms "$(median 'BigTraceStages/loki-')"), analysis $(ms "$(median 'BigTraceStages/analyze-')"), frames $(ms "$(median 'BigTraceStages/frames-')"); the SDK's Arrow encoding $(ms "$(median 'BigTraceStages/arrow-')") more ($(mib "$(metric 'BigTraceStages/arrow-' arrow-B)"))"
	echo
	p='ProcessTraceQuery-'
	echo "As Grafana sees it, 10 000 spans: RPC $(ms "$(median "$p")") (plugin CPU $(ms "$(metric "$p" cpu-ns)")), naive decode $(ms "$(metric "$p" naive-ns)"): $(metric "$p" x-naive)× wall, $(metric "$p" cpu-x-naive)× CPU (target ≤ 1)"
	echo "  answer $(mib "$(metric "$p" answer-B)") (target ≤ 16 MiB), peak RSS growth $(mib "$(metric "$p" rss-B)") for $(mib "$(metric "$p" upstream-B)") fetched: $(metric "$p" rss-x)× (target ≤ 4×)"
	p='ProcessConcurrentQueries-'
	echo "  20 concurrent 1 000-span queries: slowest $(metric "$p" slowest-x)× a lone one (target ≤ 3×), RSS growth $(metric "$p" rss-x)× the $(mib "$(metric "$p" inflight-B)") in flight (target ≤ 4×)"
	echo
	echo "Loki sub-ranges fetched at once (both queries, about 21 pages each):"
	for lat in 0s 25ms; do
		one=$(median "LokiSplit/latency=$lat/split=1-")
		four=$(median "LokiSplit/latency=$lat/split=4-")
		echo "  Loki latency $lat: 1 part $(ms "$one"), 2 parts $(ms "$(median "LokiSplit/latency=$lat/split=2-")"), 4 parts $(ms "$four"): $(ratio "$one" "$four")"
	done
} | tee "$out/summary.txt"

if stat=$(go run golang.org/x/perf/cmd/benchstat@latest "$raw" 2>/dev/null); then
	printf '\n%s\n' "$stat" | tee -a "$out/summary.txt"
else
	echo "(benchstat is not available here; the summary above is computed from $raw)" | tee -a "$out/summary.txt"
fi
