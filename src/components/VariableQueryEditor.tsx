import React, { useEffect, useState } from 'react';
import { QueryEditorProps, SelectableValue } from '@grafana/data';
import { Alert, InlineField, InlineFieldRow, RadioButtonGroup, Stack, Text, TextLink } from '@grafana/ui';

import type { DataSource } from '../datasource';
import { docUrl } from '../docs';
import { VariableQueryEditorSelectors as S } from '../selectors';
import { toVariableQuery, TracegapOptions, TracegapQuery, TracegapVariableQuery, VARIABLE_QUERIES } from '../types';

type Props = QueryEditorProps<DataSource, TracegapQuery, TracegapOptions, TracegapVariableQuery>;

const kindOptions: Array<SelectableValue<string>> = Object.entries(VARIABLE_QUERIES).map(([value, q]) => ({
  value,
  label: q.label,
  description: q.description,
}));

/** Values listed in the preview; the rest are counted. */
export const PREVIEW_SIZE = 20;

type Preview = { state: 'loading' } | { state: 'done'; values: string[] } | { state: 'error'; message: string };

/** A preview answer and the request it answers (query and time range). */
type Answer = { key: string; preview: Preview };

/** Edits a template variable: which names it lists, with a preview of them over the dashboard's time range. */
export function VariableQueryEditor({ query, onChange, datasource, range }: Props) {
  const current = toVariableQuery(query);
  const [answer, setAnswer] = useState<Answer | undefined>();
  const from = range?.from.valueOf();
  const to = range?.to.valueOf();
  const key = `${current.query} ${from} ${to}`;
  // Until the answer for this query and range arrives, the preview is loading.
  const preview: Preview = answer?.key === key ? answer.preview : { state: 'loading' };

  // Store the normalised form once, so a variable saved as bare text (or new)
  // is written back as { query } with the text Grafana shows as its definition.
  useEffect(() => {
    if (typeof query === 'string' || query?.query !== current.query) {
      onChange({ ...current });
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only when the stored query changes
  }, [query]);

  useEffect(() => {
    let cancelled = false;
    const settle = (p: Preview) => !cancelled && setAnswer({ key, preview: p });
    datasource
      .metricFindQuery(current, range ? { range } : undefined)
      .then((found) => settle({ state: 'done', values: found.map((v) => String(v.text)) }))
      .catch((e: unknown) => settle({ state: 'error', message: errorMessage(e) }));
    return () => {
      cancelled = true;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- key holds the query and the range's bounds (the range object changes identity on every render)
  }, [datasource, key]);

  return (
    <Stack direction="column" gap={1}>
      <InlineFieldRow>
        <InlineField label={S.kind.label} labelWidth={14} tooltip="What the variable lists">
          <RadioButtonGroup<string>
            aria-label={S.kind.label}
            options={kindOptions}
            value={current.query}
            onChange={(value) => onChange({ ...current, query: value })}
          />
        </InlineField>
      </InlineFieldRow>
      <Text color="secondary" variant="bodySmall">
        {VARIABLE_QUERIES[current.query]?.description}, over the dashboard&apos;s time range.{' '}
        <TextLink href={docUrl('variables')} external inline variant="bodySmall">
          {S.docs.link}
        </TextLink>
      </Text>
      <div data-testid={S.preview.testId} aria-label={S.preview.label} role="status">
        {preview.state === 'loading' && <Text color="secondary">Loading values…</Text>}
        {preview.state === 'error' && (
          <Alert severity="error" title="Could not list the values">
            {preview.message}
          </Alert>
        )}
        {preview.state === 'done' && <PreviewValues values={preview.values} />}
      </div>
    </Stack>
  );
}

// Resource errors come back as { data: { message } } (see pkg/plugin/resources.go).
function errorMessage(e: unknown): string {
  const data = (e as { data?: { message?: unknown } } | undefined)?.data;
  if (typeof data?.message === 'string') {
    return data.message;
  }
  return e instanceof Error ? e.message : String(e);
}

function PreviewValues({ values }: { values: string[] }) {
  if (values.length === 0) {
    return <Text color="secondary">No values in this time range.</Text>;
  }
  const more = values.length - PREVIEW_SIZE;
  return (
    <Text color="secondary" variant="bodySmall">
      {S.preview.label} ({values.length}): {values.slice(0, PREVIEW_SIZE).join(', ')}
      {more > 0 && ` and ${more} more`}
    </Text>
  );
}
