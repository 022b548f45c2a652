import React from 'react';
import { Field, FieldSet, Input, Switch } from '@grafana/ui';
import { DataSourcePicker } from '@grafana/runtime';

import { ConfigEditorSelectors } from '../selectors';
import { TraceToLogsOptionsV2, TraceToLogsTag } from '../types';
import { validateTimeShift } from '../validation';
import { Settings, withJsonData } from './options';

const S = ConfigEditorSelectors.traceToLogs;

/** Formats tag mappings for the text input: "service.name=service_name, pod". */
export function formatTags(tags: TraceToLogsTag[] | undefined): string {
  return (tags ?? []).map(({ key, value }) => (value ? `${key}=${value}` : key)).join(', ');
}

/** Parses "key=value, key" into tag mappings, dropping empty entries. */
export function parseTags(text: string): TraceToLogsTag[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [key, ...rest] = part.split('=');
      const value = rest.join('=').trim();
      return value ? { key: key.trim(), value } : { key: key.trim() };
    });
}

interface Props {
  options: Settings;
  onOptionsChange: (options: Settings) => void;
}

/**
 * Grafana's own trace-to-logs settings: Grafana's trace view reads
 * jsonData.tracesToLogsV2 of the data source that returned a trace to link
 * each span to its logs in a Loki data source.
 */
export function TraceToLogsSettings({ options, onOptionsChange }: Props) {
  const current = options.jsonData.tracesToLogsV2 ?? {};
  const set = (patch: Partial<TraceToLogsOptionsV2>) =>
    onOptionsChange(withJsonData(options, { tracesToLogsV2: { ...current, ...patch } }));

  // Tags are edited as free text and parsed on blur, so a half-typed "key="
  // is not rewritten under the cursor; the key re-mounts the input when the
  // stored tags change.
  const storedTags = formatTags(current.tags);

  const startError = validateTimeShift(current.spanStartTimeShift);
  const endError = validateTimeShift(current.spanEndTimeShift);

  return (
    <FieldSet label={S.section}>
      <Field
        label={S.datasource.label}
        description="Where the trace view's “Logs for this span” link opens. Usually the same Loki as above."
        htmlFor={S.datasource.id}
      >
        <DataSourcePicker
          inputId={S.datasource.id}
          type="loki"
          current={current.datasourceUid ?? null}
          noDefault
          width={40}
          onChange={(ds) => set({ datasourceUid: ds.uid })}
          onClear={() => set({ datasourceUid: undefined })}
        />
      </Field>

      <Field
        label={S.spanStartTimeShift.label}
        description="Moves the start of the logs time range, e.g. -5m. Default: none."
        invalid={!!startError}
        error={startError}
      >
        <Input
          id={S.spanStartTimeShift.id}
          value={current.spanStartTimeShift ?? ''}
          placeholder="-5m"
          width={20}
          onChange={(e) => set({ spanStartTimeShift: e.currentTarget.value })}
        />
      </Field>

      <Field
        label={S.spanEndTimeShift.label}
        description="Moves the end of the logs time range, e.g. 5m. Default: none."
        invalid={!!endError}
        error={endError}
      >
        <Input
          id={S.spanEndTimeShift.id}
          value={current.spanEndTimeShift ?? ''}
          placeholder="5m"
          width={20}
          onChange={(e) => set({ spanEndTimeShift: e.currentTarget.value })}
        />
      </Field>

      <Field label={S.filterByTraceID.label} description="Only show log lines that contain the trace ID.">
        <Switch
          id={S.filterByTraceID.id}
          value={!!current.filterByTraceID}
          onChange={(e) => set({ filterByTraceID: e.currentTarget.checked })}
        />
      </Field>

      <Field label={S.filterBySpanID.label} description="Only show log lines that contain the span ID.">
        <Switch
          id={S.filterBySpanID.id}
          value={!!current.filterBySpanID}
          onChange={(e) => set({ filterBySpanID: e.currentTarget.checked })}
        />
      </Field>

      <Field
        label={S.tags.label}
        description="Span attributes to turn into Loki label filters, comma separated; rename with key=label, e.g. service.name=service_name."
      >
        <Input
          key={storedTags}
          id={S.tags.id}
          defaultValue={storedTags}
          placeholder="service.name=service_name"
          width={60}
          onBlur={(e) => {
            const tags = parseTags(e.currentTarget.value);
            if (formatTags(tags) !== storedTags) {
              set({ tags });
            }
          }}
        />
      </Field>

      <Field
        label={S.customQuery.label}
        description="Replace the generated LogQL with your own; it may use ${__span.traceId} and ${__span.spanId}."
      >
        <Switch
          id={S.customQuery.id}
          value={!!current.customQuery}
          onChange={(e) => set({ customQuery: e.currentTarget.checked })}
        />
      </Field>

      {current.customQuery && (
        <Field label={S.query.label}>
          <Input
            id={S.query.id}
            value={current.query ?? ''}
            placeholder='{service_name="${__span.tags["service.name"]}"} |= "${__span.traceId}"'
            width={60}
            onChange={(e) => set({ query: e.currentTarget.value })}
          />
        </Field>
      )}
    </FieldSet>
  );
}
