package loki

// ServerEntryLimit reads Loki's refusal of a page size larger than its
// max_entries_limit_per_query (a 400 saying "… (5001 > 5000)") and returns
// the limit Loki allows, so a caller that pages with Page itself (batched
// queries) can page again with it, as TraceLogs does.
func ServerEntryLimit(err error) (int, bool) { return serverEntryLimit(err) }
