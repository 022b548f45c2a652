import React from 'react';
import { SelectableValue } from '@grafana/data';
import { Field, FieldSet, Input, RadioButtonGroup, Switch, TagsInput } from '@grafana/ui';

import { ConfigEditorSelectors } from '../selectors';
import {
  DEFAULT_SETTINGS,
  LOG_QUERY_MODE_DESCRIPTIONS,
  LogQueryMode,
  NumericSetting,
  SETTING_RANGES,
  TracegapOptions,
} from '../types';
import { validateLogSelector, validateRegex, validateWholeNumber } from '../validation';
import { jsonPatch, parseNumberInput, Settings, withJsonData } from './options';

const S = ConfigEditorSelectors.correlation;

// One wording for the modes everywhere (types.ts); the radio buttons show it as a tooltip.
const modeOptions: Array<SelectableValue<LogQueryMode>> = [
  { label: 'Auto', value: 'auto', description: capitalise(LOG_QUERY_MODE_DESCRIPTIONS.auto) },
  { label: 'Line filter', value: 'line', description: capitalise(LOG_QUERY_MODE_DESCRIPTIONS.line) },
  { label: 'Structured metadata', value: 'metadata', description: capitalise(LOG_QUERY_MODE_DESCRIPTIONS.metadata) },
];

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// One row per numeric setting, in the order shown, with what it means.
const numberFields: Array<{ key: NumericSetting; description: string }> = [
  { key: 'minGapMs', description: "Silences in a span's logs shorter than this are not reported as waits." },
  {
    key: 'lokiMaxLines',
    description: 'Upper bound on the log lines read for one trace (Loki is paged by time to reach it).',
  },
  {
    key: 'maxLinesPerSpan',
    description: "Log lines attached to each span's events in the trace view; findings still use all lines.",
  },
  {
    key: 'lokiMarginSeconds',
    description: 'Widens the log time range around the trace, for clocks that disagree and late log lines.',
  },
  { key: 'timeoutSeconds', description: 'Time allowed for each request to Tempo or Loki.' },
  {
    key: 'tempoConcurrency',
    description: 'Traces fetched from Tempo at the same time by search, wait metrics and annotation queries.',
  },
  { key: 'maxTraceMB', description: 'Largest Tempo response accepted; bigger traces fail with a clear error.' },
  { key: 'maxLogsMB', description: 'Largest Loki response accepted per request.' },
  {
    key: 'maxLogLines',
    description:
      'Log lines the answer carries in its logs frame: first those around gaps and retries, then the rest in time order. The analysis still uses every line read.',
  },
  {
    key: 'maxEmbeddedLines',
    description: "Log lines shown in the trace view's span events, for the whole trace (on top of the per-span limit).",
  },
  {
    key: 'maxTableRows',
    description:
      'Rows the gaps, retries and spans tables list each: waits on the critical path first, then the longest; the costliest retries; critical-path spans, then the most self time. The trace view and every total still count them all.',
  },
];

interface Props {
  options: Settings;
  onOptionsChange: (options: Settings) => void;
}

/** How the backend finds a trace's logs and what counts as a wait or a retry. */
export function CorrelationSettings({ options, onOptionsChange }: Props) {
  const { jsonData } = options;
  const set = (patch: Partial<TracegapOptions>) => onOptionsChange(withJsonData(options, patch));
  const logSelectorError = validateLogSelector(jsonData.logSelector);
  const retryError = validateRegex(jsonData.retryPattern);
  const giveUpError = validateRegex(jsonData.giveUpPattern);
  // An empty list means "use the defaults", so store none rather than [].
  const setFields = (key: 'traceIdFields' | 'spanIdFields') => (tags: string[]) => {
    const patch: Partial<TracegapOptions> = {};
    patch[key] = tags.length ? tags : undefined;
    set(patch);
  };

  return (
    <FieldSet label={S.section}>
      <Field
        label={S.logSelector.label}
        description="LogQL stream selector for the logs that may belong to a trace; narrower is faster."
        invalid={!!logSelectorError}
        error={logSelectorError}
      >
        <Input
          id={S.logSelector.id}
          value={jsonData.logSelector ?? ''}
          placeholder={DEFAULT_SETTINGS.logSelector}
          width={60}
          onChange={(e) => set({ logSelector: e.currentTarget.value })}
        />
      </Field>

      <Field
        label={S.traceIdFields.label}
        description={`Structured metadata, label or JSON field names that hold a line's trace ID. Default: ${DEFAULT_SETTINGS.traceIdFields.join(', ')}.`}
      >
        <TagsInput
          id={S.traceIdFields.id}
          tags={jsonData.traceIdFields ?? []}
          placeholder="Field name, then Enter"
          addOnBlur
          width={60}
          onChange={setFields('traceIdFields')}
        />
      </Field>

      <Field
        label={S.spanIdFields.label}
        description={`Field names that hold a line's span ID. Default: ${DEFAULT_SETTINGS.spanIdFields.join(', ')}.`}
      >
        <TagsInput
          id={S.spanIdFields.id}
          tags={jsonData.spanIdFields ?? []}
          placeholder="Field name, then Enter"
          addOnBlur
          width={60}
          onChange={setFields('spanIdFields')}
        />
      </Field>

      <Field
        label={S.logQueryMode.label}
        description={`How Loki is asked for the lines of one trace. Auto: ${LOG_QUERY_MODE_DESCRIPTIONS.auto}.`}
      >
        <RadioButtonGroup<LogQueryMode>
          aria-label={S.logQueryMode.label}
          options={modeOptions}
          value={jsonData.logQueryMode ?? DEFAULT_SETTINGS.logQueryMode}
          onChange={(value) => set({ logQueryMode: value })}
        />
      </Field>

      <Field
        label={S.retryPattern.label}
        description="Regular expression (Go RE2, case-insensitive) that marks a log line as a retry."
        invalid={!!retryError}
        error={retryError}
      >
        <Input
          id={S.retryPattern.id}
          value={jsonData.retryPattern ?? ''}
          placeholder={DEFAULT_SETTINGS.retryPattern}
          width={60}
          onChange={(e) => set({ retryPattern: e.currentTarget.value })}
        />
      </Field>
      <Field
        label={S.giveUpPattern.label}
        description="Regular expression (Go RE2, case-insensitive) for a line saying a failed attempt will not be retried: it is not a retry, and the retry before it failed."
        invalid={!!giveUpError}
        error={giveUpError}
      >
        <Input
          id={S.giveUpPattern.id}
          value={jsonData.giveUpPattern ?? ''}
          placeholder={DEFAULT_SETTINGS.giveUpPattern}
          width={60}
          onChange={(e) => set({ giveUpPattern: e.currentTarget.value })}
        />
      </Field>

      <Field
        label={S.compareByDefault.label}
        description="Trace queries that do not say otherwise also fetch up to 20 other traces of the same root service and operation and show what this one did that they did not (one more Tempo search and the baseline's fetches per query, cached)."
      >
        <Switch
          id={S.compareByDefault.id}
          value={jsonData.compareByDefault ?? false}
          onChange={(e) => set({ compareByDefault: e.currentTarget.checked })}
        />
      </Field>

      {numberFields.map(({ key, description }) => {
        const error = validateWholeNumber(jsonData[key], SETTING_RANGES[key]);
        return (
          <Field key={key} label={S[key].label} description={description} invalid={!!error} error={error}>
            <Input
              id={S[key].id}
              type="number"
              min={SETTING_RANGES[key].min}
              max={SETTING_RANGES[key].max}
              width={20}
              value={jsonData[key] ?? ''}
              placeholder={String(DEFAULT_SETTINGS[key])}
              onChange={(e) => set(jsonPatch(key, parseNumberInput(e.currentTarget.value)))}
            />
          </Field>
        );
      })}
    </FieldSet>
  );
}
