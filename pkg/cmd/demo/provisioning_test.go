package main

// These tests check the demo stack's files, which Grafana, Tempo and Loki
// would otherwise only reject (or silently misread) at startup: every file
// parses, every data source uid a dashboard or alert names is provisioned,
// every address is a compose service on the port its server listens on, and
// the Tracegap data source's jsonData passes the plugin's own settings
// validation.

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"go.yaml.in/yaml/v3"

	"github.com/tracegap/correlator/pkg/demo"
	"github.com/tracegap/correlator/pkg/settings"
)

// root is the repository root, seen from this package's directory.
const root = "../../.."

// grafanaProvisioning is where docker-compose.yaml mounts ./provisioning.
const grafanaProvisioning = "/etc/grafana/provisioning"

// pluginType is the plugin id in plugin.json.
const pluginType = "tracegap-correlator-datasource"

// builtinDatasourceUIDs are the uids Grafana provides itself.
var builtinDatasourceUIDs = map[string]bool{"-- Dashboard --": true, "-- Grafana --": true, "grafana": true, "__expr__": true}

func readRepoFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return b
}

// decodeYAML decodes a file strictly: unknown keys are errors, so a typo in
// a key fails here instead of being ignored by Grafana.
func decodeYAML(t *testing.T, rel string, v any, strict bool) {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(string(readRepoFile(t, rel))))
	dec.KnownFields(strict)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}

// datasourceFile is Grafana's data source provisioning format.
type datasourceFile struct {
	APIVersion  int `yaml:"apiVersion"`
	Datasources []struct {
		Name           string            `yaml:"name"`
		UID            string            `yaml:"uid"`
		Type           string            `yaml:"type"`
		Access         string            `yaml:"access"`
		URL            string            `yaml:"url"`
		OrgID          int               `yaml:"orgId"`
		IsDefault      bool              `yaml:"isDefault"`
		Editable       bool              `yaml:"editable"`
		BasicAuth      bool              `yaml:"basicAuth"`
		JSONData       map[string]any    `yaml:"jsonData"`
		SecureJSONData map[string]string `yaml:"secureJsonData"`
	} `yaml:"datasources"`
}

// provisionedDatasources maps uid → type.
func provisionedDatasources(t *testing.T) (*datasourceFile, map[string]string) {
	t.Helper()
	var f datasourceFile
	decodeYAML(t, "provisioning/datasources/datasources.yaml", &f, true)
	uids := map[string]string{}
	for _, ds := range f.Datasources {
		uids[ds.UID] = ds.Type
	}
	return &f, uids
}

func TestDatasourcesProvisioning(t *testing.T) {
	f, uids := provisionedDatasources(t)
	if f.APIVersion != 1 {
		t.Errorf("apiVersion %d, want 1", f.APIVersion)
	}
	if len(uids) != len(f.Datasources) {
		t.Errorf("%d data sources but %d distinct uids", len(f.Datasources), len(uids))
	}
	for uid, typ := range map[string]string{"tracegap": pluginType, "tempo": "tempo", "loki": "loki"} {
		if uids[uid] != typ {
			t.Errorf("data source uid %q has type %q, want %q", uid, uids[uid], typ)
		}
	}
	defaults := 0
	st := loadStack(t)
	for _, ds := range f.Datasources {
		if ds.IsDefault {
			defaults++
		}
		if ds.URL != "" {
			st.checkServiceURL(t, "data source "+ds.UID+" url", ds.URL)
		}
		if tl, ok := ds.JSONData["tracesToLogsV2"].(map[string]any); ok {
			if uid, _ := tl["datasourceUid"].(string); uids[uid] != "loki" {
				t.Errorf("%s: tracesToLogsV2.datasourceUid %q is not the provisioned Loki", ds.UID, uid)
			}
		}
		if dfs, ok := ds.JSONData["derivedFields"].([]any); ok {
			for _, df := range dfs {
				if uid, _ := df.(map[string]any)["datasourceUid"].(string); uids[uid] == "" {
					t.Errorf("%s: derived field links to unknown data source %q", ds.UID, uid)
				}
			}
		}
		if ds.Type != pluginType {
			continue
		}
		// Every key must be one the plugin reads (or Grafana's trace-to-logs
		// settings), and the whole must pass the plugin's validation.
		known := map[string]bool{"tracesToLogsV2": true}
		typ := reflect.TypeFor[settings.Settings]()
		for i := range typ.NumField() {
			if tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ","); tag != "" && tag != "-" {
				known[tag] = true
			}
		}
		for k := range ds.JSONData {
			if !known[k] {
				t.Errorf("tracegap jsonData key %q is not a setting the plugin reads (pkg/settings)", k)
			}
		}
		raw, err := json.Marshal(ds.JSONData)
		if err != nil {
			t.Fatal(err)
		}
		s, err := settings.Load(backend.DataSourceInstanceSettings{UID: ds.UID, JSONData: raw})
		if err != nil {
			t.Fatalf("tracegap jsonData fails the plugin's validation: %v", err)
		}
		st.checkServiceURL(t, "tempoUrl", s.TempoURL)
		st.checkServiceURL(t, "lokiUrl", s.LokiURL)
	}
	if defaults != 1 {
		t.Errorf("%d default data sources, want 1", defaults)
	}
}

// TestProvisioningHasNoBareVariables guards against Grafana's environment
// expansion in provisioning files: a bare ${x} or $x in a YAML value is
// replaced by an environment variable (usually empty) before Grafana reads
// it; $$ keeps a literal dollar.
func TestProvisioningHasNoBareVariables(t *testing.T) {
	bare := regexp.MustCompile(`(^|[^$])\$[{A-Za-z_]`)
	files, err := filepath.Glob(filepath.Join(root, "provisioning", "*", "*.yaml"))
	if err != nil || len(files) < 3 {
		t.Fatalf("want the datasources, dashboards and alerting YAML files, found %v (%v)", files, err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(string(b), "\n") {
			if code, _, _ := strings.Cut(line, " #"); !strings.HasPrefix(strings.TrimSpace(line), "#") && bare.MatchString(code) {
				t.Errorf("%s:%d: %q: Grafana would expand this as an environment variable; write $$ for a literal $", file, n+1, line)
			}
		}
	}
}

// dashboardProviders is Grafana's dashboard provider provisioning format.
type dashboardProviders struct {
	APIVersion int `yaml:"apiVersion"`
	Providers  []struct {
		Name                  string `yaml:"name"`
		OrgID                 int    `yaml:"orgId"`
		Folder                string `yaml:"folder"`
		Type                  string `yaml:"type"`
		DisableDeletion       bool   `yaml:"disableDeletion"`
		AllowUIUpdates        bool   `yaml:"allowUiUpdates"`
		UpdateIntervalSeconds int    `yaml:"updateIntervalSeconds"`
		Options               struct {
			Path                      string `yaml:"path"`
			FoldersFromFilesStructure bool   `yaml:"foldersFromFilesStructure"`
		} `yaml:"options"`
	} `yaml:"providers"`
}

// dashboards loads every dashboard the providers point at, by uid.
func dashboards(t *testing.T) map[string]map[string]any {
	t.Helper()
	var p dashboardProviders
	decodeYAML(t, "provisioning/dashboards/dashboards.yaml", &p, true)
	if p.APIVersion != 1 || len(p.Providers) == 0 {
		t.Fatalf("dashboards.yaml: apiVersion %d with %d providers", p.APIVersion, len(p.Providers))
	}
	out := map[string]map[string]any{}
	for _, pr := range p.Providers {
		rel, ok := strings.CutPrefix(pr.Options.Path, grafanaProvisioning+"/")
		if pr.Type != "file" || !ok {
			t.Fatalf("provider %q: type %q path %q: want a file provider under %s (where ./provisioning is mounted)", pr.Name, pr.Type, pr.Options.Path, grafanaProvisioning)
		}
		files, _ := filepath.Glob(filepath.Join(root, "provisioning", rel, "*.json"))
		if len(files) == 0 {
			t.Fatalf("provider %q: no dashboard JSON in provisioning/%s", pr.Name, rel)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var d map[string]any
			if err := json.Unmarshal(b, &d); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			uid, _ := d["uid"].(string)
			if uid == "" || out[uid] != nil {
				t.Fatalf("%s: uid %q is empty or used twice", file, uid)
			}
			out[uid] = d
		}
	}
	return out
}

// traceFrames is the order of the frames a Tracegap trace query returns;
// tables that reuse the trace panel's data pick theirs by index
// (options.frameIndex), since Grafana has no transformation that selects a
// frame by name.
var traceFrames = []string{"trace", "logs", "gaps", "retries", "spans", "breakdown", "findings"}

// dashboardVariables are the data source variables the dashboard must have
// (name → plugin type), so that it imports into any Grafana: every panel
// queries through them instead of a uid that exists only in the demo stack.
var dashboardVariables = map[string]string{"tracegap": pluginType, "loki": "loki"}

var (
	tracegapQueryTypes = []string{"trace", "search", "waitMetrics", "annotations"}
	variableRef        = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_.]*)(?::[^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)
)

func TestDashboards(t *testing.T) {
	_, uids := provisionedDatasources(t)
	all := dashboards(t)
	d := all["tracegap-why-slow"]
	if d == nil {
		t.Fatalf("no dashboard with uid tracegap-why-slow among %v", slices.Sorted(maps.Keys(all)))
	}
	if d["title"] != "Why was it slow?" {
		t.Errorf("title %q", d["title"])
	}
	vars := map[string]bool{}
	dsVars := map[string]string{} // data source variable → plugin type
	for _, v := range list(d, "templating", "list") {
		vars[str(v, "name")] = true
		if str(v, "type") == "datasource" {
			dsVars[str(v, "name")] = str(v, "query")
		}
	}
	if !vars["traceId"] {
		t.Fatal("no traceId variable")
	}
	for name, typ := range dashboardVariables {
		if dsVars[name] != typ {
			t.Errorf("no data source variable %q of type %q (have %v)", name, typ, dsVars)
		}
	}
	checkImportInputs(t, d, dsVars)
	inputs := map[string]bool{}
	for _, in := range list(d, "__inputs") {
		inputs[str(in, "name")] = true
	}

	// Every data source reference, wherever it is, is a built-in one or a
	// data source variable of the right type: no provisioned uid, which
	// would exist only in the demo stack. The variable's type must be one
	// the stack provisions, so the demo still works.
	provisionedTypes := map[string]bool{}
	for _, typ := range uids {
		provisionedTypes[typ] = true
	}
	walk(d, func(path string, m map[string]any) {
		ds, ok := m["datasource"].(map[string]any)
		if !ok {
			return
		}
		uid, typ := str(ds, "uid"), str(ds, "type")
		if builtinDatasourceUIDs[uid] {
			return
		}
		name, isVar := datasourceVariable(uid)
		switch {
		case !isVar:
			t.Errorf("%s: data source uid %q is fixed; use a data source variable (%v) so the dashboard imports anywhere", path, uid, slices.Sorted(maps.Keys(dashboardVariables)))
		case dsVars[name] == "":
			t.Errorf("%s: data source %q is not a data source variable of the dashboard", path, uid)
		case typ != "" && typ != dsVars[name]:
			t.Errorf("%s: data source %q has type %q here, but variable %q lists %q", path, uid, typ, name, dsVars[name])
		case !provisionedTypes[dsVars[name]]:
			t.Errorf("%s: variable %q lists %q data sources, which the stack does not provision", path, name, dsVars[name])
		}
	})

	// Variables and links resolve.
	raw, _ := json.Marshal(d)
	for _, m := range variableRef.FindAllStringSubmatch(string(raw), -1) {
		name := m[1] + m[2]
		if !vars[name] && !inputs[name] && !strings.HasPrefix(name, "__") {
			t.Errorf("variable %q is used but not defined", name)
		}
	}
	walk(d, func(path string, m map[string]any) {
		u, ok := m["url"].(string)
		if !ok || !strings.HasPrefix(u, "/d/") {
			return
		}
		pu, err := url.Parse(strings.NewReplacer("${", "", "}", "").Replace(u))
		if err != nil {
			t.Errorf("%s: link %q: %v", path, u, err)
			return
		}
		if target := strings.Split(strings.TrimPrefix(pu.Path, "/d/"), "/")[0]; all[target] == nil {
			t.Errorf("%s: link %q points at dashboard %q, which is not provisioned", path, u, target)
		}
		for k := range pu.Query() {
			if v, ok := strings.CutPrefix(k, "var-"); ok && !vars[v] {
				t.Errorf("%s: link %q sets variable %q, which the dashboard does not define", path, u, v)
			}
		}
	})

	// Panels: unique ids, on the 24-column grid without overlaps, queries
	// of known types, and reused data from a real panel.
	panels := list(d, "panels")
	byID := map[float64]map[string]any{}
	var cells = map[[2]int]float64{}
	for _, p := range panels {
		id, _ := p["id"].(float64)
		if byID[id] != nil {
			t.Errorf("panel id %v used twice", id)
		}
		byID[id] = p
		g, _ := p["gridPos"].(map[string]any)
		x, y, w, h := int(num(g, "x")), int(num(g, "y")), int(num(g, "w")), int(num(g, "h"))
		if w <= 0 || h <= 0 || x < 0 || x+w > 24 {
			t.Errorf("panel %v %q: gridPos %v is off the 24-column grid", id, p["title"], g)
		}
		for cx := x; cx < x+w; cx++ {
			for cy := y; cy < y+h; cy++ {
				if other, taken := cells[[2]int{cx, cy}]; taken {
					t.Errorf("panel %v %q overlaps panel %v", id, p["title"], other)
					cx, cy = x+w, y+h
				}
				cells[[2]int{cx, cy}] = id
			}
		}
	}
	for _, p := range panels {
		title := str(p, "title")
		for _, target := range list(p, "targets") {
			ds, _ := target["datasource"].(map[string]any)
			uid := str(ds, "uid")
			if name, ok := datasourceVariable(uid); ok {
				uid = dsVars[name]
			}
			switch uid {
			case pluginType:
				checkTracegapQuery(t, "panel "+title, target)
			case "-- Dashboard --":
				src := byID[num(target, "panelId")]
				if src == nil {
					t.Errorf("panel %q reuses panel %v, which does not exist", title, target["panelId"])
					continue
				}
				if src["type"] != "traces" {
					continue
				}
				if name, ok := frameByName(p); ok {
					if !slices.Contains(traceFrames, name) {
						t.Errorf("panel %q picks frame %q of the trace query, which returns %v", title, name, traceFrames)
					}
					continue
				}
				opts, _ := p["options"].(map[string]any)
				i := int(num(opts, "frameIndex"))
				if p["type"] != "table" || i < 0 || i >= len(traceFrames) || !strings.Contains(strings.ToLower(title), traceFrames[i]) {
					t.Errorf("panel %q shows frame %d of the trace query (%v): its title should name that frame", title, i, traceFrames)
				}
			}
		}
	}
	for _, a := range list(d, "annotations", "list") {
		ds, _ := a["datasource"].(map[string]any)
		if name, ok := datasourceVariable(str(ds, "uid")); ok && dsVars[name] == pluginType {
			target, _ := a["target"].(map[string]any)
			checkTracegapQuery(t, "annotation "+str(a, "name"), target)
			if target["queryType"] != "annotations" {
				t.Errorf("annotation %q: queryType %v, want annotations", str(a, "name"), target["queryType"])
			}
		}
	}

	// The panels the issue asks for.
	want := map[string]string{"search": "table", "trace": "traces", "waitMetrics": "timeseries"}
	for _, p := range panels {
		for _, target := range list(p, "targets") {
			if qt, _ := target["queryType"].(string); want[qt] == p["type"] {
				delete(want, qt)
			}
		}
	}
	if len(want) > 0 {
		t.Errorf("missing panels (query type → panel type): %v", want)
	}

	// Every panel that queries uses the data source variables: directly, or
	// by reusing (-- Dashboard --) a panel that does.
	var usesVariable func(p map[string]any, depth int) bool
	usesVariable = func(p map[string]any, depth int) bool {
		targets := list(p, "targets")
		if len(targets) == 0 || depth > len(panels) {
			return false
		}
		for _, target := range targets {
			ds, _ := target["datasource"].(map[string]any)
			if name, ok := datasourceVariable(str(ds, "uid")); ok && dsVars[name] != "" {
				continue
			}
			if str(ds, "uid") == "-- Dashboard --" {
				if src := byID[num(target, "panelId")]; src != nil && usesVariable(src, depth+1) {
					continue
				}
			}
			return false
		}
		return true
	}
	for _, p := range panels {
		if p["type"] != "text" && !usesVariable(p, 0) {
			t.Errorf("panel %q does not query through the data source variables %v", str(p, "title"), slices.Sorted(maps.Keys(dashboardVariables)))
		}
	}

	// While $traceId is empty the Loki panel must show nothing: with the
	// variable empty, `trace_id=~"(?i)0*"` alone matches every line whose
	// trace_id is empty (every line without one), so a filter must require
	// a trace id.
	lokiPanels := 0
	for _, p := range panels {
		for _, target := range list(p, "targets") {
			ds, _ := target["datasource"].(map[string]any)
			if name, ok := datasourceVariable(str(ds, "uid")); !ok || dsVars[name] != "loki" {
				continue
			}
			lokiPanels++
			expr := str(target, "expr")
			if !strings.Contains(expr, "${traceId}") && !strings.Contains(expr, "$traceId") {
				t.Errorf("Loki panel %q: expr %q does not select the picked trace", str(p, "title"), expr)
			}
			if !regexp.MustCompile(`\|\s*trace_id\s*!=\s*""`).MatchString(expr) {
				t.Errorf("Loki panel %q: expr %q matches every line without a trace id while $traceId is empty; add | trace_id!=\"\"", str(p, "title"), expr)
			}
		}
	}
	if lokiPanels == 0 {
		t.Error("no Loki panel uses the loki variable")
	}

	// The breakdown (issue 15): a bar gauge or pie chart of the breakdown
	// frame by service and category, above the trace.
	var trace, breakdown map[string]any
	for _, p := range panels {
		if p["type"] == "traces" {
			trace = p
		}
		if name, ok := frameByName(p); ok && name == "breakdown" && (p["type"] == "bargauge" || p["type"] == "piechart") {
			breakdown = p
		}
	}
	switch {
	case trace == nil || breakdown == nil:
		t.Errorf("want a traces panel and a bar gauge or pie chart of the breakdown frame; found %v and %v", trace != nil, breakdown != nil)
	case num(breakdown["gridPos"].(map[string]any), "y") >= num(trace["gridPos"].(map[string]any), "y"):
		t.Errorf("the breakdown panel %q should be above the trace", str(breakdown, "title"))
	default:
		grouped := map[string]bool{}
		for _, tr := range list(breakdown, "transformations") {
			if tr["id"] == "groupBy" {
				opts, _ := tr["options"].(map[string]any)
				fields, _ := opts["fields"].(map[string]any)
				for name, f := range fields {
					if f, _ := f.(map[string]any); str(f, "operation") == "groupby" {
						grouped[name] = true
					}
				}
			}
		}
		if !grouped["service"] || !grouped["category"] {
			t.Errorf("breakdown panel %q groups by %v, want service and category", str(breakdown, "title"), grouped)
		}
	}
}

// datasourceVariable returns the variable name of a data source uid written
// as a variable ("${tracegap}" or "$tracegap").
func datasourceVariable(uid string) (string, bool) {
	m := variableRef.FindStringSubmatch(uid)
	if m == nil || m[0] != uid {
		return "", false
	}
	return m[1] + m[2], true
}

// frameByName returns the frame a panel picks with a filterFrames
// transformation by frame name (a pattern such as "/^breakdown$/").
func frameByName(p map[string]any) (string, bool) {
	for _, tr := range list(p, "transformations") {
		if tr["id"] != "filterFrames" {
			continue
		}
		opts, _ := tr["options"].(map[string]any)
		inc, _ := opts["include"].(map[string]any)
		if str(inc, "id") == "byName" {
			name := strings.TrimSuffix(strings.TrimPrefix(str(inc, "options"), "/^"), "$/")
			return name, true
		}
	}
	return "", false
}

// checkImportInputs checks the dashboard's __inputs, which Grafana's import
// asks for: one data source input per data source variable, of the same
// plugin, each the variable's initial value (${DS_…}, replaced on import),
// none unused. On provisioning the placeholder matches no data source and
// Grafana selects the first of the variable's type.
func checkImportInputs(t *testing.T, d map[string]any, dsVars map[string]string) {
	t.Helper()
	inputs := map[string]string{} // input name → plugin id
	for _, in := range list(d, "__inputs") {
		if str(in, "type") != "datasource" || str(in, "pluginId") == "" || str(in, "label") == "" {
			t.Errorf("__inputs %v: want a datasource input with a pluginId and a label", in)
		}
		inputs[str(in, "name")] = str(in, "pluginId")
	}
	used := map[string]bool{}
	for _, v := range list(d, "templating", "list") {
		if str(v, "type") != "datasource" {
			continue
		}
		cur, _ := v["current"].(map[string]any)
		name, ok := datasourceVariable(str(cur, "value"))
		switch {
		case !ok:
			t.Errorf("variable %q: current value %q is not an import input (${DS_…})", str(v, "name"), str(cur, "value"))
		case inputs[name] != dsVars[str(v, "name")]:
			t.Errorf("variable %q (%s) starts as input %q, which is for plugin %q", str(v, "name"), dsVars[str(v, "name")], name, inputs[name])
		default:
			used[name] = true
		}
	}
	for name := range inputs {
		if !used[name] {
			t.Errorf("__inputs %q is not used by any data source variable", name)
		}
	}
	hasGrafana := false
	for _, r := range list(d, "__requires") {
		hasGrafana = hasGrafana || (str(r, "id") == "grafana" && str(r, "version") != "")
	}
	if !hasGrafana {
		t.Error("__requires does not name the Grafana version the dashboard needs")
	}
}

func checkTracegapQuery(t *testing.T, where string, q map[string]any) {
	t.Helper()
	qt := str(q, "queryType")
	if !slices.Contains(tracegapQueryTypes, qt) {
		t.Errorf("%s: queryType %q, want one of %v", where, qt, tracegapQueryTypes)
		return
	}
	if qt == "trace" {
		if str(q, "traceId") == "" {
			t.Errorf("%s: a trace query needs traceId", where)
		}
		return
	}
	if tq := str(q, "query"); !strings.HasPrefix(tq, "{") || !strings.HasSuffix(tq, "}") {
		t.Errorf("%s: query %q is not TraceQL", where, tq)
	}
	if gb, ok := q["groupBy"]; ok && gb != "service" && gb != "service_operation" {
		t.Errorf("%s: groupBy %v, want service or service_operation", where, gb)
	}
}

// alertFile is Grafana's alert rule provisioning format (the parts used).
type alertFile struct {
	APIVersion int `yaml:"apiVersion"`
	Groups     []struct {
		OrgID    int    `yaml:"orgId"`
		Name     string `yaml:"name"`
		Folder   string `yaml:"folder"`
		Interval string `yaml:"interval"`
		Rules    []struct {
			UID       string `yaml:"uid"`
			Title     string `yaml:"title"`
			Condition string `yaml:"condition"`
			Data      []struct {
				RefID             string         `yaml:"refId"`
				RelativeTimeRange map[string]int `yaml:"relativeTimeRange"`
				DatasourceUID     string         `yaml:"datasourceUid"`
				Model             map[string]any `yaml:"model"`
			} `yaml:"data"`
			NoDataState  string            `yaml:"noDataState"`
			ExecErrState string            `yaml:"execErrState"`
			For          string            `yaml:"for"`
			IsPaused     bool              `yaml:"isPaused"`
			Labels       map[string]string `yaml:"labels"`
			Annotations  map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestAlertRules(t *testing.T) {
	_, uids := provisionedDatasources(t)
	all := dashboards(t)
	var f alertFile
	decodeYAML(t, "provisioning/alerting/alert-rules.yaml", &f, true)
	if f.APIVersion != 1 || len(f.Groups) == 0 {
		t.Fatalf("apiVersion %d with %d groups", f.APIVersion, len(f.Groups))
	}
	found := false
	for _, g := range f.Groups {
		if g.Folder == "" || g.Interval == "" {
			t.Errorf("group %q needs a folder and an interval", g.Name)
		}
		for _, r := range g.Rules {
			refs := map[string]map[string]any{}
			for _, q := range r.Data {
				refs[q.RefID] = q.Model
				if q.DatasourceUID != "__expr__" && uids[q.DatasourceUID] == "" {
					t.Errorf("rule %q query %s: data source %q is not provisioned", r.Title, q.RefID, q.DatasourceUID)
				}
				if q.Model["refId"] != q.RefID {
					t.Errorf("rule %q query %s: model.refId %v", r.Title, q.RefID, q.Model["refId"])
				}
				if q.DatasourceUID == "tracegap" {
					checkTracegapQuery(t, "rule "+r.Title, q.Model)
				}
			}
			for _, q := range r.Data {
				if e, ok := q.Model["expression"].(string); ok && refs[e] == nil {
					t.Errorf("rule %q: expression %s reads %q, which is not a query of the rule", r.Title, q.RefID, e)
				}
			}
			if refs[r.Condition] == nil {
				t.Errorf("rule %q: condition %q is not a query of the rule", r.Title, r.Condition)
			}
			if uid := r.Annotations["__dashboardUid__"]; uid != "" {
				panel, _ := strconv.Atoi(r.Annotations["__panelId__"])
				ok := false
				for _, p := range list(all[uid], "panels") {
					ok = ok || int(num(p, "id")) == panel
				}
				if !ok {
					t.Errorf("rule %q: points at dashboard %q panel %d, which does not exist", r.Title, uid, panel)
				}
			}
			if r.UID == "tracegap-widget-wait" {
				found = true
				if refs["A"]["queryType"] != "waitMetrics" || refs["B"]["type"] != "reduce" || refs["B"]["reducer"] != "max" ||
					refs["C"]["type"] != "threshold" || fmt.Sprint(refs["C"]["conditions"]) != "[map[evaluator:map[params:[500] type:gt]]]" {
					t.Errorf("rule %q: want waitMetrics → reduce max → threshold > 500, got %v", r.Title, refs)
				}
			}
		}
	}
	if !found {
		t.Error("no rule tracegap-widget-wait")
	}
}

// compose is the part of docker-compose.yaml the tests read.
type compose struct {
	Services map[string]struct {
		Image   string   `yaml:"image"`
		Command []string `yaml:"command"`
		Extends *struct {
			File    string `yaml:"file"`
			Service string `yaml:"service"`
		} `yaml:"extends"`
		Build *struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
		Volumes     []string          `yaml:"volumes"`
		Environment map[string]string `yaml:"environment"`
	} `yaml:"services"`
}

func loadCompose(t *testing.T) *compose {
	t.Helper()
	var c compose
	decodeYAML(t, "docker-compose.yaml", &c, false)
	return &c
}

func composeServices(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for name := range loadCompose(t).Services {
		out[name] = true
	}
	return out
}

// servicePorts are the ports the stack's servers listen on, read from
// their config files in deploy/.
func servicePorts(t *testing.T) map[string][]string {
	t.Helper()
	var tempo struct {
		Server struct {
			HTTPListenPort int `yaml:"http_listen_port"`
		} `yaml:"server"`
		Distributor struct {
			Receivers struct {
				OTLP struct {
					Protocols struct {
						HTTP struct {
							Endpoint string `yaml:"endpoint"`
						} `yaml:"http"`
					} `yaml:"protocols"`
				} `yaml:"otlp"`
			} `yaml:"receivers"`
		} `yaml:"distributor"`
		Storage struct {
			Trace struct {
				Backend string `yaml:"backend"`
			} `yaml:"trace"`
		} `yaml:"storage"`
	}
	decodeYAML(t, "deploy/tempo/tempo.yaml", &tempo, false)
	host, otlpPort, _ := strings.Cut(tempo.Distributor.Receivers.OTLP.Protocols.HTTP.Endpoint, ":")
	if host != "0.0.0.0" || tempo.Storage.Trace.Backend != "local" {
		t.Errorf("tempo.yaml: OTLP/HTTP on %q with %q storage; want 0.0.0.0 (reachable from other containers) and local",
			tempo.Distributor.Receivers.OTLP.Protocols.HTTP.Endpoint, tempo.Storage.Trace.Backend)
	}

	var loki struct {
		Server struct {
			HTTPListenPort int `yaml:"http_listen_port"`
		} `yaml:"server"`
		SchemaConfig struct {
			Configs []struct {
				Store  string `yaml:"store"`
				Schema string `yaml:"schema"`
			} `yaml:"configs"`
		} `yaml:"schema_config"`
		Limits struct {
			AllowStructuredMetadata bool `yaml:"allow_structured_metadata"`
		} `yaml:"limits_config"`
	}
	decodeYAML(t, "deploy/loki/loki.yaml", &loki, false)
	cfgs := loki.SchemaConfig.Configs
	if len(cfgs) == 0 || cfgs[len(cfgs)-1].Schema != "v13" || cfgs[len(cfgs)-1].Store != "tsdb" || !loki.Limits.AllowStructuredMetadata {
		t.Errorf("loki.yaml: want schema v13 on tsdb with allow_structured_metadata (the demo sends trace_id/span_id as structured metadata); got %+v", loki)
	}
	return map[string][]string{
		"tempo": {strconv.Itoa(tempo.Server.HTTPListenPort), otlpPort},
		"loki":  {strconv.Itoa(loki.Server.HTTPListenPort)},
	}
}

// stack is the compose services and the ports their servers listen on.
type stack struct {
	services map[string]bool
	ports    map[string][]string
}

func loadStack(t *testing.T) *stack {
	t.Helper()
	return &stack{services: composeServices(t), ports: servicePorts(t)}
}

// checkServiceURL checks that u names a compose service on a port its
// server listens on.
func (st *stack) checkServiceURL(t *testing.T, what, u string) {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Errorf("%s %q: %v", what, u, err)
		return
	}
	if !st.services[pu.Hostname()] {
		t.Errorf("%s %q: host %q is not a compose service", what, u, pu.Hostname())
		return
	}
	if ports := st.ports[pu.Hostname()]; !slices.Contains(ports, pu.Port()) {
		t.Errorf("%s %q: %s listens on %v, not %q", what, u, pu.Hostname(), ports, pu.Port())
	}
}

func TestComposeStack(t *testing.T) {
	c := loadCompose(t)
	st := loadStack(t)
	for _, s := range []string{"grafana", "tempo", "loki", "demo"} {
		if !st.services[s] {
			t.Errorf("no %s service", s)
		}
	}

	var plugin struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(readRepoFile(t, "plugin.json"), &plugin); err != nil || plugin.ID != pluginType {
		t.Fatalf("plugin.json id %q (%v), want %s", plugin.ID, err, pluginType)
	}
	g := c.Services["grafana"]
	for _, v := range []string{"./dist:/var/lib/grafana/plugins/" + plugin.ID, "./provisioning:" + grafanaProvisioning} {
		if !slices.Contains(g.Volumes, v) {
			t.Errorf("grafana does not mount %s", v)
		}
	}
	if !strings.Contains(g.Environment["GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS"], plugin.ID) {
		t.Errorf("grafana does not allow the unsigned plugin %s", plugin.ID)
	}
	if home, ok := strings.CutPrefix(g.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"], grafanaProvisioning+"/"); ok {
		readRepoFile(t, "provisioning/"+home)
	}
	if g.Extends != nil {
		var base compose
		decodeYAML(t, path.Join(".", g.Extends.File), &base, false)
		if _, ok := base.Services[g.Extends.Service]; !ok {
			t.Errorf("grafana extends %s service %q, which does not exist", g.Extends.File, g.Extends.Service)
		}
	} else if !strings.HasPrefix(g.Image, "grafana/grafana") {
		t.Errorf("grafana image %q", g.Image)
	}

	// Files mounted from the repository exist (./dist is a build output).
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, "./") && src != "./dist" {
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			}
		}
	}

	// The generator: built from the repo's Dockerfile, pointed at the
	// services by flags the command accepts.
	d := c.Services["demo"]
	if d.Build == nil || d.Build.Context != "." {
		t.Fatalf("demo: want a build from the repository root, got %+v", d.Build)
	}
	dockerfile := string(readRepoFile(t, d.Build.Dockerfile))
	if !strings.Contains(dockerfile, "./pkg/cmd/demo") {
		t.Errorf("%s does not build ./pkg/cmd/demo", d.Build.Dockerfile)
	}
	flags := map[string]string{}
	for i := 0; i+1 < len(d.Command); i += 2 {
		flags[d.Command[i]] = d.Command[i+1]
	}
	sender, err := demo.NewSender(nil, flags["--tempo"], flags["--loki"], "")
	if err != nil {
		t.Fatalf("demo command %v: %v", d.Command, err)
	}
	st.checkServiceURL(t, "demo --tempo", flags["--tempo"])
	st.checkServiceURL(t, "demo --loki", flags["--loki"])
	if _, err := demo.ParseRate(flags["--rate"]); err != nil {
		t.Errorf("demo --rate: %v", err)
	}
	if !strings.HasSuffix(sender.TempoURL, demo.TempoTracesPath) {
		t.Errorf("demo sends traces to %s", sender.TempoURL)
	}
}

// walk calls fn for every JSON object under v, with a path for messages.
func walk(v any, fn func(path string, m map[string]any)) {
	var rec func(p string, v any)
	rec = func(p string, v any) {
		switch x := v.(type) {
		case map[string]any:
			fn(p, x)
			for k, c := range x {
				rec(p+"."+k, c)
			}
		case []any:
			for i, c := range x {
				rec(fmt.Sprintf("%s[%d]", p, i), c)
			}
		}
	}
	rec("", v)
}

// list returns the objects of the array at keys.
func list(m map[string]any, keys ...string) []map[string]any {
	var v any = m
	for _, k := range keys {
		mm, _ := v.(map[string]any)
		v = mm[k]
	}
	arr, _ := v.([]any)
	out := make([]map[string]any, 0, len(arr))
	for _, e := range arr {
		if o, ok := e.(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func num(m map[string]any, k string) float64 { f, _ := m[k].(float64); return f }
