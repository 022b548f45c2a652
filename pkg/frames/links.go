package frames

import "github.com/grafana/grafana-plugin-sdk-go/data"

// traceQuery is the query an internal link runs: the data source's trace
// query type. A struct (not a map) keeps the JSON field order stable.
type traceQuery struct {
	QueryType string `json:"queryType"`
	TraceID   string `json:"traceId"`
}

// Grafana interpolates these in a link's query before running it.
const (
	valueRaw      = "${__value.raw}"
	traceIDOfRow  = "${__data.fields.traceID}"
	queryTypeName = "trace"
)

// traceIDLinks opens the trace whose id is the field's value.
func (l Link) traceIDLinks() []data.DataLink {
	if l.DatasourceUID == "" {
		return nil
	}
	return []data.DataLink{{
		Title: "Open trace",
		Internal: &data.InternalDataLink{
			DatasourceUID:  l.DatasourceUID,
			DatasourceName: l.DatasourceName,
			Query:          traceQuery{QueryType: queryTypeName, TraceID: valueRaw},
		},
	}}
}

// spanIDLinks opens the trace of traceID (a literal id, or the row's
// traceID field when traceID is "") with the field's span in focus: the
// trace panel state's spanId is what Grafana's trace view scrolls to.
func (l Link) spanIDLinks(traceID string) []data.DataLink {
	if l.DatasourceUID == "" {
		return nil
	}
	if traceID == "" {
		traceID = traceIDOfRow
	}
	var panels data.ExplorePanelsState = map[string]any{"trace": map[string]string{"spanId": valueRaw}}
	return []data.DataLink{{
		Title: "Open span in trace",
		Internal: &data.InternalDataLink{
			DatasourceUID:      l.DatasourceUID,
			DatasourceName:     l.DatasourceName,
			Query:              traceQuery{QueryType: queryTypeName, TraceID: traceID},
			ExplorePanelsState: &panels,
		},
	}}
}

// linkField sets links on a field's config, when there are any.
func linkField(f *data.Field, links []data.DataLink) *data.Field {
	if len(links) == 0 {
		return f
	}
	if f.Config == nil {
		f.Config = &data.FieldConfig{}
	}
	f.Config.Links = links
	return f
}
