import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

// The query and settings shapes below are mirrored by hand in the Go backend
// (pkg/plugin for queries, pkg/settings for jsonData/secureJsonData): a field
// renamed here must be renamed there, and its JSON name kept stable because
// saved dashboards and provisioning files store it.

/** Query types, in the order the query editor offers them. */
export const QUERY_TYPES = ['trace', 'search', 'waitMetrics', 'annotations'] as const;

/** What a query asks the backend for. */
export type QueryType = (typeof QUERY_TYPES)[number];

/** Ways a wait-metrics query can split its series. */
export const GROUP_BYS = ['service', 'service_operation'] as const;

/** How a wait-metrics query splits its series. */
export type GroupBy = (typeof GROUP_BYS)[number];

/**
 * Numbers a wait-metrics query can return, in the order the backend emits them
 * (pkg/frames Measures); each becomes the series' `measure` label.
 */
export const MEASURES = [
  'wait_ms',
  'unaccounted_ms',
  'retries',
  'breakdown_waiting_ms',
  'breakdown_network_ms',
  'breakdown_failed_attempt_ms',
] as const;

/** One number a wait-metrics query returns per service (and operation). */
export type Measure = (typeof MEASURES)[number];

/** One Tracegap query, as stored in dashboards and sent to the backend. */
export interface TracegapQuery extends DataQuery {
  queryType: QueryType;
  /** Trace to explain (trace queries); hex or a template variable. */
  traceId?: string;
  /** Override of the data source's minimum gap, in milliseconds. */
  minGapMs?: number;
  /** Override of the data source's LogQL stream selector. */
  logSelector?: string;
  /** TraceQL for search, waitMetrics and annotations queries. */
  query?: string;
  /** Maximum number of traces a TraceQL query analyses. */
  limit?: number;
  /** Series split for waitMetrics queries. */
  groupBy?: GroupBy;
  /** Numbers a waitMetrics query returns; absent or empty means all of MEASURES. */
  measures?: Measure[];
  /** Trace queries: compare with like traces of the time range (absent: the data source's compareByDefault). */
  compare?: boolean;
  /** Trace queries with compare: how many like traces form the baseline (BASELINE_LIMIT_RANGE). */
  baselineLimit?: number;
  /** Override of the data source's maxLogLines: log lines the logs frame carries. */
  maxLogLines?: number;
}

/** Like traces a comparison fetches when the query sets no baselineLimit. */
export const DEFAULT_BASELINE_LIMIT = 20;

/** The baseline sizes the backend accepts. */
export const BASELINE_LIMIT_RANGE = { min: 3, max: 200, unit: 'traces' };

/** Variable queries the data source answers, each backed by one backend resource. */
export const VARIABLE_QUERIES: Record<string, { resource: string; label: string; description: string }> = {
  'services()': { resource: 'services', label: 'Services', description: "Tempo's service names" },
  'labels()': { resource: 'labels', label: 'Loki labels', description: "Loki's label names" },
};

/** The variable query a new variable starts with. */
export const DEFAULT_VARIABLE_QUERY = 'services()';

/** A template variable query: which names the variable lists. */
export interface TracegapVariableQuery extends DataQuery {
  /** `services()` (Tempo's service names) or `labels()` (Loki's label names); see VARIABLE_QUERIES. */
  query: string;
}

/** Query type a new query starts with. */
export const DEFAULT_QUERY_TYPE: QueryType = 'trace';

/** What a new query starts as. */
export const DEFAULT_QUERY: Partial<TracegapQuery> = {
  queryType: DEFAULT_QUERY_TYPE,
};

/** What a new annotation query starts as (issue 10: annotations use their own query type). */
export const DEFAULT_ANNOTATION_QUERY: Partial<TracegapQuery> = {
  queryType: 'annotations',
};

/** Traces a TraceQL query analyses when the query sets no limit. */
export const DEFAULT_LIMIT = 20;

/** Series split when a waitMetrics query sets none. */
export const DEFAULT_GROUP_BY: GroupBy = 'service';

/**
 * The measures a query picks, in MEASURES order without repeats; empty when it
 * picks none (the backend then returns all). Also reads the comma-separated
 * string the backend accepts, because alert rules' JSON is edited by hand.
 */
export function pickedMeasures(query: Pick<TracegapQuery, 'measures'>): Measure[] {
  const raw: unknown = query.measures;
  const names = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : [];
  const picked = new Set(names.map((n) => String(n).trim()));
  return MEASURES.filter((m) => picked.has(m));
}

/** How the backend authenticates to Tempo or Loki. */
export type AuthMethod = 'none' | 'basic' | 'bearer';

/** How the backend asks Loki for a trace's logs. */
export type LogQueryMode = 'auto' | 'line' | 'metadata';

/**
 * What each log query mode does, in the one wording every surface uses (the
 * README, the CLI's --log-mode and the config editor say the same).
 */
export const LOG_QUERY_MODE_DESCRIPTIONS: Record<LogQueryMode, string> = {
  auto: 'the line filter, plus the structured-metadata filter over the lines whose text does not match it, so each line is fetched once',
  line: 'a line filter: lines whose text contains the trace ID (any case, with or without leading zeros)',
  metadata: 'a structured-metadata filter on the trace ID field (| trace_id="<trace id>")',
};

/** Custom HTTP headers per upstream: jsonData <backend>HttpHeaderName<n>, secureJsonData <backend>HttpHeaderValue<n>. */
export type HeaderNameKey = `${Backend}HttpHeaderName${number}`;

/** The secret value of one custom header, matching a HeaderNameKey of the same number. */
export type HeaderValueKey = `${Backend}HttpHeaderValue${number}`;

/** One tag mapping of Grafana's trace-to-logs settings. */
export interface TraceToLogsTag {
  key: string;
  value?: string;
}

/**
 * Grafana's own trace-to-logs settings (the same shape the Tempo data source
 * stores), read by Grafana's trace view to link spans to a Loki data source.
 */
export interface TraceToLogsOptionsV2 {
  datasourceUid?: string;
  spanStartTimeShift?: string;
  spanEndTimeShift?: string;
  filterByTraceID?: boolean;
  filterBySpanID?: boolean;
  customQuery?: boolean;
  query?: string;
  tags?: TraceToLogsTag[];
}

/** Settings of one data source instance (jsonData); absent fields take the defaults below. */
export interface TracegapOptions extends DataSourceJsonData {
  tempoUrl?: string;
  lokiUrl?: string;
  /** Sent as X-Scope-OrgID to both Tempo and Loki when set. */
  tenantId?: string;
  tempoAuth?: AuthMethod;
  lokiAuth?: AuthMethod;
  tempoUser?: string;
  lokiUser?: string;
  tempoTlsSkipVerify?: boolean;
  lokiTlsSkipVerify?: boolean;
  timeoutSeconds?: number;
  logSelector?: string;
  logQueryMode?: LogQueryMode;
  minGapMs?: number;
  /** Regular expression (RE2, matched case-insensitively) that marks a log line as a retry. */
  retryPattern?: string;
  /** Regular expression (RE2, case-insensitive) for lines saying a failed attempt is not retried ("giving up"). */
  giveUpPattern?: string;
  traceIdFields?: string[];
  spanIdFields?: string[];
  lokiMarginSeconds?: number;
  lokiMaxLines?: number;
  maxLinesPerSpan?: number;
  tempoConcurrency?: number;
  /** Largest Tempo response body accepted, in MiB. */
  maxTraceMB?: number;
  /** Largest Loki response body accepted, in MiB. */
  maxLogsMB?: number;
  tracesToLogsV2?: TraceToLogsOptionsV2;
  /** Trace queries compare with like traces unless the query says otherwise. */
  compareByDefault?: boolean;
  /** Log lines the logs frame carries (the analysis still uses every line fetched). */
  maxLogLines?: number;
  /** Log lines embedded in the trace view's span events, for the whole trace. */
  maxEmbeddedLines?: number;
  /** Waits the gaps frame lists (and the trace view's spans quote): the critical path's first, then the longest. */
  maxTableRows?: number;
  /** The SDK's Secure Socks Proxy switch (Grafana's own key). */
  enableSecureSocksProxy?: boolean;
  /** Names of custom headers, sent with every request to that upstream. */
  [header: HeaderNameKey]: string | undefined;
}

/** Secrets; Grafana stores them encrypted and only the backend ever sees them. */
export interface TracegapSecureJsonData {
  tempoToken?: string;
  lokiToken?: string;
  tempoPassword?: string;
  lokiPassword?: string;
  tempoTlsCACert?: string;
  lokiTlsCACert?: string;
  /** Values of custom headers (often credentials), matching the names in jsonData. */
  [header: HeaderValueKey]: string | undefined;
}

/** The defaults the backend applies to absent settings; the editors show them as placeholders. */
export const DEFAULT_SETTINGS = {
  auth: 'none' as AuthMethod,
  timeoutSeconds: 30,
  logSelector: '{service_name=~".+"}',
  logQueryMode: 'auto' as LogQueryMode,
  minGapMs: 100,
  retryPattern: 'retrying|will retry|attempt \\d+ failed',
  giveUpPattern: "not retrying|giving up|no more retries|won't retry|will not retry|retries exhausted",
  traceIdFields: ['traceId', 'trace_id', 'traceID', 'trace-id'],
  spanIdFields: ['spanId', 'span_id', 'spanID', 'span-id'],
  lokiMarginSeconds: 5,
  lokiMaxLines: 50000,
  maxLinesPerSpan: 100,
  tempoConcurrency: 8,
  maxTraceMB: 512,
  maxLogsMB: 512,
  maxLogLines: 5000,
  maxEmbeddedLines: 20000,
  maxTableRows: 1000,
} as const;

/** Numeric settings, each edited as a whole number. */
export type NumericSetting =
  | 'minGapMs'
  | 'lokiMaxLines'
  | 'maxLinesPerSpan'
  | 'lokiMarginSeconds'
  | 'timeoutSeconds'
  | 'tempoConcurrency'
  | 'maxTraceMB'
  | 'maxLogsMB'
  | 'maxLogLines'
  | 'maxEmbeddedLines'
  | 'maxTableRows';

/**
 * The ranges the backend accepts (pkg/settings limits): generous, to catch
 * typos such as a 30000-second timeout rather than second-guess a choice.
 */
export const SETTING_RANGES: Record<NumericSetting, { min: number; max: number; unit: string }> = {
  minGapMs: { min: 0, max: 3_600_000, unit: 'milliseconds' },
  lokiMaxLines: { min: 1, max: 1_000_000, unit: 'lines' },
  maxLinesPerSpan: { min: 1, max: 10_000, unit: 'lines' },
  lokiMarginSeconds: { min: 0, max: 3600, unit: 'seconds' },
  timeoutSeconds: { min: 1, max: 3600, unit: 'seconds' },
  tempoConcurrency: { min: 1, max: 64, unit: 'requests' },
  maxTraceMB: { min: 1, max: 4096, unit: 'MiB' },
  maxLogsMB: { min: 1, max: 4096, unit: 'MiB' },
  maxLogLines: { min: 1, max: 1_000_000, unit: 'lines' },
  maxEmbeddedLines: { min: 1, max: 1_000_000, unit: 'lines' },
  maxTableRows: { min: 1, max: 1_000_000, unit: 'rows' },
};

/** The two backends a data source talks to; used to build their settings keys. */
export type Backend = 'tempo' | 'loki';

/**
 * A variable's query as the editor and the backend see it. Variables saved by
 * hand or by older versions store the text alone ("services()"); the editor
 * stores { query: "services()" }.
 */
export function toVariableQuery(q: string | Partial<TracegapVariableQuery> | undefined): TracegapVariableQuery {
  const text = typeof q === 'string' ? q : q?.query;
  const refId = (typeof q === 'object' && q?.refId) || 'TracegapVariableQuery';
  return { ...(typeof q === 'object' ? q : {}), refId, query: text?.trim() || DEFAULT_VARIABLE_QUERY };
}
