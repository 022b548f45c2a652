// Every label the editors show lives here, so components, unit tests and e2e
// specs find inputs by the same text (the way grafana/github-datasource does).

import { Backend } from './types';

const backendName: Record<Backend, string> = { tempo: 'Tempo', loki: 'Loki' };

/** Labels and ids of the per-backend (Tempo, Loki) connection fields. */
export function endpointSelectors(backend: Backend) {
  const name = backendName[backend];
  return {
    section: name,
    url: { label: `${name} URL`, id: `tracegap-${backend}-url` },
    auth: { label: `${name} authentication` },
    user: { label: `${name} user`, id: `tracegap-${backend}-user` },
    password: { label: `${name} password`, id: `tracegap-${backend}-password` },
    token: { label: `${name} bearer token`, id: `tracegap-${backend}-token` },
    tlsSkipVerify: { label: `Skip ${name} TLS certificate verification`, id: `tracegap-${backend}-tls-skip-verify` },
    caCert: { label: `${name} CA certificate`, id: `tracegap-${backend}-ca-cert` },
    headers: {
      section: `${name} custom HTTP headers`,
      add: `Add ${name} header`,
      name: (n: number) => ({ label: `${name} header ${n} name`, id: `tracegap-${backend}-header-name-${n}` }),
      value: (n: number) => ({ label: `${name} header ${n} value`, id: `tracegap-${backend}-header-value-${n}` }),
      remove: (n: number) => `Remove ${name} header ${n}`,
    },
  };
}

/** Labels and ids of the config editor. */
export const ConfigEditorSelectors = {
  tenantId: { label: 'Tenant ID', id: 'tracegap-tenant-id' },
  correlation: {
    section: 'Log correlation',
    logSelector: { label: 'Log selector', id: 'tracegap-log-selector' },
    traceIdFields: { label: 'Trace ID fields', id: 'tracegap-trace-id-fields' },
    spanIdFields: { label: 'Span ID fields', id: 'tracegap-span-id-fields' },
    logQueryMode: { label: 'Log query mode' },
    minGapMs: { label: 'Minimum gap (ms)', id: 'tracegap-min-gap-ms' },
    retryPattern: { label: 'Retry pattern', id: 'tracegap-retry-pattern' },
    giveUpPattern: { label: 'Give-up pattern', id: 'tracegap-give-up-pattern' },
    compareByDefault: { label: 'Compare with typical by default', id: 'tracegap-compare-by-default' },
    lokiMaxLines: { label: 'Max log lines per trace', id: 'tracegap-loki-max-lines' },
    maxLinesPerSpan: { label: 'Max log lines per span', id: 'tracegap-max-lines-per-span' },
    lokiMarginSeconds: { label: 'Log time margin (s)', id: 'tracegap-loki-margin-seconds' },
    timeoutSeconds: { label: 'Timeout (s)', id: 'tracegap-timeout-seconds' },
    tempoConcurrency: { label: 'Tempo concurrency', id: 'tracegap-tempo-concurrency' },
    maxTraceMB: { label: 'Max trace size (MiB)', id: 'tracegap-max-trace-mb' },
    maxLogsMB: { label: 'Max log response size (MiB)', id: 'tracegap-max-logs-mb' },
    maxLogLines: { label: 'Max log lines shown', id: 'tracegap-max-log-lines' },
    maxEmbeddedLines: { label: 'Max log lines in the trace view', id: 'tracegap-max-embedded-lines' },
    maxTableRows: { label: 'Max table rows', id: 'tracegap-max-table-rows' },
  },
  docs: { link: 'Tracegap configuration documentation' },
  traceToLogs: {
    section: 'Trace to logs',
    datasource: { label: 'Loki data source', id: 'tracegap-trace-to-logs-datasource' },
    spanStartTimeShift: { label: 'Span start time shift', id: 'tracegap-trace-to-logs-start-shift' },
    spanEndTimeShift: { label: 'Span end time shift', id: 'tracegap-trace-to-logs-end-shift' },
    filterByTraceID: { label: 'Filter by trace ID', id: 'tracegap-trace-to-logs-filter-trace' },
    filterBySpanID: { label: 'Filter by span ID', id: 'tracegap-trace-to-logs-filter-span' },
    tags: { label: 'Tags', id: 'tracegap-trace-to-logs-tags' },
    customQuery: { label: 'Use custom query', id: 'tracegap-trace-to-logs-custom-query' },
    query: { label: 'Custom query', id: 'tracegap-trace-to-logs-query' },
  },
};

/** Labels and ids of the query editor. */
export const QueryEditorSelectors = {
  queryType: { label: 'Query type' },
  traceId: { label: 'Trace ID', id: 'tracegap-query-trace-id' },
  compare: { label: 'Compare with typical', id: 'tracegap-query-compare' },
  baselineLimit: { label: 'Baseline traces', id: 'tracegap-query-baseline-limit' },
  query: { label: 'TraceQL', id: 'tracegap-query-traceql' },
  limit: { label: 'Limit', id: 'tracegap-query-limit' },
  groupBy: { label: 'Group by' },
  measures: { label: 'Measures', id: 'tracegap-query-measures' },
  minGapMs: { label: 'Min gap (ms)', id: 'tracegap-query-min-gap-ms' },
  logSelector: { label: 'Log selector', id: 'tracegap-query-log-selector' },
  emptyState: { testId: 'tracegap-query-empty-state' },
  maxLogLines: { label: 'Max log lines', id: 'tracegap-query-max-log-lines' },
  traceqlError: { testId: 'tracegap-query-traceql-error' },
  docs: { link: 'Tracegap query documentation' },
};

/** Labels of the template variable query editor. */
export const VariableQueryEditorSelectors = {
  kind: { label: 'Values' },
  preview: { testId: 'tracegap-variable-preview', label: 'Preview of values' },
  docs: { link: 'Tracegap variable documentation' },
};
