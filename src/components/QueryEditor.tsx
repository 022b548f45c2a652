import React, { ChangeEvent, KeyboardEvent } from 'react';
import { QueryEditorProps, SelectableValue } from '@grafana/data';
import {
  InlineField,
  InlineFieldRow,
  InlineSwitch,
  Input,
  MultiSelect,
  RadioButtonGroup,
  Stack,
  Text,
  TextLink,
} from '@grafana/ui';

import { DataSource } from '../datasource';
import { docUrl } from '../docs';
import { QueryEditorSelectors as S } from '../selectors';
import {
  BASELINE_LIMIT_RANGE,
  DEFAULT_BASELINE_LIMIT,
  DEFAULT_GROUP_BY,
  DEFAULT_LIMIT,
  DEFAULT_QUERY_TYPE,
  DEFAULT_SETTINGS,
  GroupBy,
  Measure,
  MEASURES,
  pickedMeasures,
  QUERY_TYPES,
  QueryType,
  SETTING_RANGES,
  TracegapOptions,
  TracegapQuery,
} from '../types';
import { syntaxError } from '../traceql';
import { validateLogSelector, validateTraceId, validateWholeNumber } from '../validation';
import { TraceQLField } from './TraceQLField';

type Props = QueryEditorProps<DataSource, TracegapQuery, TracegapOptions>;

const queryTypeOptions: Record<QueryType, SelectableValue<QueryType>> = {
  trace: { label: 'Trace', description: 'Explain one trace: its waits, unaccounted time and retries' },
  search: { label: 'Search', description: 'Find traces with TraceQL and summarise what slowed each one' },
  waitMetrics: { label: 'Wait metrics', description: 'Time series of wait time found in the traces TraceQL matches' },
  annotations: { label: 'Annotations', description: 'Mark retries and long waits of matching traces on graphs' },
};

const groupByOptions: Array<SelectableValue<GroupBy>> = [
  { label: 'Service', value: 'service' },
  { label: 'Service and operation', value: 'service_operation' },
];

// Labelled with the names the series carry in their measure label, so what is
// picked here is what a legend or an alert instance shows.
const measureOptions: Array<SelectableValue<Measure>> = [
  { label: 'wait_ms', value: 'wait_ms', description: 'Wait time found in the logs, in milliseconds' },
  {
    label: 'unaccounted_ms',
    value: 'unaccounted_ms',
    description: 'The part of the wait no child span explains, in milliseconds',
  },
  { label: 'retries', value: 'retries', description: 'Retries the logs report' },
  {
    label: 'breakdown_waiting_ms',
    value: 'breakdown_waiting_ms',
    description: "Critical-path time the service's logs were silent with no span running, in milliseconds",
  },
  {
    label: 'breakdown_network_ms',
    value: 'breakdown_network_ms',
    description:
      "Critical-path time of the service's client calls the callee's server span does not cover, in milliseconds",
  },
  {
    label: 'breakdown_failed_attempt_ms',
    value: 'breakdown_failed_attempt_ms',
    description: 'Critical-path time spent in failed attempts that were retried, in milliseconds',
  },
];

const labelWidth = 16;

/** Edits one Tracegap query; text fields run the query when they lose focus or on Enter. */
export function QueryEditor({ query, onChange, onRunQuery, datasource }: Props) {
  const queryType = query.queryType ?? DEFAULT_QUERY_TYPE;
  const settings = datasource?.settings ?? {};
  // Several queries (A, B, ...) share a page, so ids carry the refId.
  const id = (base: string) => `${base}-${query.refId}`;

  const traceIdError = validateTraceId(query.traceId);
  const limitError = validateWholeNumber(query.limit, { min: 1 });
  const minGapError = validateWholeNumber(query.minGapMs, SETTING_RANGES.minGapMs);
  const logSelectorError = validateLogSelector(query.logSelector);
  const baselineError = validateWholeNumber(query.baselineLimit, BASELINE_LIMIT_RANGE);
  const maxLogLinesError = validateWholeNumber(query.maxLogLines, SETTING_RANGES.maxLogLines);
  const isValid =
    !traceIdError && !limitError && !minGapError && !logSelectorError && !baselineError && !maxLogLinesError;
  // Shown, but it does not stop the query: Tempo is the judge of TraceQL, and
  // its syntax may be newer than the grammar's.
  const traceqlError = queryType === 'trace' ? undefined : syntaxError(query.query ?? '');
  const compare = query.compare ?? !!settings.compareByDefault;

  const run = () => {
    if (isValid) {
      onRunQuery();
    }
  };
  const runOnEnter = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') {
      run();
    }
  };

  const onText = (key: 'traceId' | 'query' | 'logSelector') => (e: ChangeEvent<HTMLInputElement>) => {
    onChange({ ...query, [key]: e.currentTarget.value });
  };
  const onNumber =
    (key: 'limit' | 'minGapMs' | 'baselineLimit' | 'maxLogLines') => (e: ChangeEvent<HTMLInputElement>) => {
      const raw = e.currentTarget.value;
      onChange({ ...query, [key]: raw === '' ? undefined : Number(raw) });
    };
  // Choices apply at once, so they also run the query (a text field waits for blur or Enter).
  const onQueryType = (value: QueryType) => {
    onChange({ ...query, queryType: value });
    onRunQuery();
  };
  const onCompare = (e: React.FormEvent<HTMLInputElement>) => {
    onChange({ ...query, compare: e.currentTarget.checked });
    onRunQuery();
  };
  const onGroupBy = (value: GroupBy) => {
    onChange({ ...query, groupBy: value });
    onRunQuery();
  };

  // Stored in the backend's order and dropped when empty, so a saved query does
  // not depend on click order and an emptied selection means the default (all).
  const onMeasures = (selected: Array<SelectableValue<Measure>>) => {
    const picked = pickedMeasures({ measures: selected.flatMap((o) => (o.value ? [o.value] : [])) });
    onChange({ ...query, measures: picked.length > 0 ? picked : undefined });
    onRunQuery();
  };

  const usesTraceQL = queryType !== 'trace';

  return (
    <Stack direction="column" gap={1}>
      <InlineFieldRow>
        <InlineField
          label={S.queryType.label}
          labelWidth={labelWidth}
          tooltip={queryTypeOptions[queryType].description}
        >
          <RadioButtonGroup<QueryType>
            aria-label={S.queryType.label}
            options={QUERY_TYPES.map((value) => ({ value, ...queryTypeOptions[value] }))}
            value={queryType}
            onChange={onQueryType}
          />
        </InlineField>
      </InlineFieldRow>

      {queryType === 'trace' && (
        <InlineFieldRow>
          <InlineField
            label={S.traceId.label}
            labelWidth={labelWidth}
            grow
            invalid={!!traceIdError}
            error={traceIdError}
            tooltip="The trace to explain: hex as shown by Tempo, or a dashboard variable such as $traceId"
          >
            <Input
              id={id(S.traceId.id)}
              value={query.traceId ?? ''}
              placeholder="e.g. 0af7651916cd43dd8448eb211c80319c or $traceId"
              onChange={onText('traceId')}
              onBlur={run}
              onKeyDown={runOnEnter}
            />
          </InlineField>
        </InlineFieldRow>
      )}

      {queryType === 'trace' && (
        <InlineFieldRow>
          <InlineField
            label={S.compare.label}
            labelWidth={labelWidth}
            tooltip="Also explain like traces of the time range (same root service and operation) and say what this one spent more on. Default: the data source's setting."
          >
            <InlineSwitch id={id(S.compare.id)} value={compare} onChange={onCompare} />
          </InlineField>
          {compare && (
            <InlineField
              label={S.baselineLimit.label}
              invalid={!!baselineError}
              error={baselineError}
              tooltip={`How many like traces form the baseline (${BASELINE_LIMIT_RANGE.min} to ${BASELINE_LIMIT_RANGE.max})`}
            >
              <Input
                id={id(S.baselineLimit.id)}
                type="number"
                min={BASELINE_LIMIT_RANGE.min}
                max={BASELINE_LIMIT_RANGE.max}
                width={10}
                value={query.baselineLimit ?? ''}
                placeholder={String(DEFAULT_BASELINE_LIMIT)}
                onChange={onNumber('baselineLimit')}
                onBlur={run}
                onKeyDown={runOnEnter}
              />
            </InlineField>
          )}
          <InlineField
            label={S.maxLogLines.label}
            invalid={!!maxLogLinesError}
            error={maxLogLinesError}
            tooltip="Log lines the answer carries (lines around gaps and retries first); the analysis uses every line. Empty uses the data source setting."
          >
            <Input
              id={id(S.maxLogLines.id)}
              type="number"
              min={SETTING_RANGES.maxLogLines.min}
              width={12}
              value={query.maxLogLines ?? ''}
              placeholder={String(settings.maxLogLines ?? DEFAULT_SETTINGS.maxLogLines)}
              onChange={onNumber('maxLogLines')}
              onBlur={run}
              onKeyDown={runOnEnter}
            />
          </InlineField>
        </InlineFieldRow>
      )}

      {usesTraceQL && (
        <InlineFieldRow>
          <InlineField
            label={S.query.label}
            labelWidth={labelWidth}
            grow
            invalid={!!traceqlError}
            error={traceqlError && <span data-testid={S.traceqlError.testId}>{traceqlError.message}</span>}
            tooltip="Which traces to analyse; leave empty for all traces in the time range"
          >
            <TraceQLField
              id={id(S.query.id)}
              value={query.query ?? ''}
              placeholder='e.g. {resource.service.name="widget-service" && duration > 500ms}'
              onChange={(value) => onChange({ ...query, query: value })}
              onBlur={run}
              onKeyDown={runOnEnter}
            />
          </InlineField>
          <InlineField
            label={S.limit.label}
            invalid={!!limitError}
            error={limitError}
            tooltip="How many of the matching traces to fetch and analyse"
          >
            <Input
              id={id(S.limit.id)}
              type="number"
              min={1}
              width={10}
              value={query.limit ?? ''}
              placeholder={String(DEFAULT_LIMIT)}
              onChange={onNumber('limit')}
              onBlur={run}
              onKeyDown={runOnEnter}
            />
          </InlineField>
        </InlineFieldRow>
      )}

      {queryType === 'waitMetrics' && (
        <InlineFieldRow>
          <InlineField
            label={S.groupBy.label}
            labelWidth={labelWidth}
            tooltip="One series per service, or per service and operation"
          >
            <RadioButtonGroup<GroupBy>
              aria-label={S.groupBy.label}
              options={groupByOptions}
              value={query.groupBy ?? DEFAULT_GROUP_BY}
              onChange={onGroupBy}
            />
          </InlineField>
          <InlineField
            label={S.measures.label}
            grow
            tooltip={`Which numbers to return; pick one per alert rule. Empty returns all: ${MEASURES.join(', ')}.`}
          >
            {/* eslint-disable-next-line @typescript-eslint/no-deprecated -- its successor, MultiCombobox, is not in Grafana 11.0, which plugin.json still supports */}
            <MultiSelect<Measure>
              inputId={id(S.measures.id)}
              aria-label={S.measures.label}
              options={measureOptions}
              value={pickedMeasures(query)}
              placeholder={`All: ${MEASURES.join(', ')}`}
              onChange={onMeasures}
            />
          </InlineField>
        </InlineFieldRow>
      )}

      <InlineFieldRow>
        <InlineField
          label={S.minGapMs.label}
          labelWidth={labelWidth}
          invalid={!!minGapError}
          error={minGapError}
          tooltip="Only silences in a span's logs at least this long count as waits. Empty uses the data source setting."
        >
          <Input
            id={id(S.minGapMs.id)}
            type="number"
            min={0}
            width={12}
            value={query.minGapMs ?? ''}
            placeholder={String(settings.minGapMs ?? DEFAULT_SETTINGS.minGapMs)}
            onChange={onNumber('minGapMs')}
            onBlur={run}
            onKeyDown={runOnEnter}
          />
        </InlineField>
        <InlineField
          label={S.logSelector.label}
          grow
          invalid={!!logSelectorError}
          error={logSelectorError}
          tooltip="LogQL stream selector for the logs to join. Empty uses the data source setting."
        >
          <Input
            id={id(S.logSelector.id)}
            value={query.logSelector ?? ''}
            placeholder={settings.logSelector || DEFAULT_SETTINGS.logSelector}
            onChange={onText('logSelector')}
            onBlur={run}
            onKeyDown={runOnEnter}
          />
        </InlineField>
      </InlineFieldRow>

      {queryType === 'trace' && !query.traceId?.trim() && (
        <div data-testid={S.emptyState.testId}>
          <Text color="secondary" element="p">
            Paste a trace ID to see where its time went: the waits its logs reveal, how much of each wait its child
            spans explain, and its retries. To find slow traces first, choose Search and enter TraceQL such as{' '}
            <code>{'{duration > 1s}'}</code>.
          </Text>
        </div>
      )}

      <Text color="secondary" variant="bodySmall">
        <TextLink href={docUrl('queryTypes')} external inline={false} variant="bodySmall">
          {S.docs.link}
        </TextLink>
      </Text>
    </Stack>
  );
}
