import React, { useState } from 'react';
import { act, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { QueryEditorSelectors as S } from '../selectors';
import { newDataSource } from '../test-utils';
import { Measure, MEASURES, TracegapOptions, TracegapQuery } from '../types';
import { QueryEditor } from './QueryEditor';

// Renders the editor the way Grafana does: each onChange comes back as the new
// query prop. Returns the recorded onChange payloads and onRunQuery calls.
function setup(initial: TracegapQuery, settings: TracegapOptions = {}) {
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  const datasource = newDataSource(settings);
  function Harness() {
    const [query, setQuery] = useState(initial);
    return (
      <QueryEditor
        query={query}
        datasource={datasource}
        onChange={(q) => {
          onChange(q);
          setQuery(q);
        }}
        onRunQuery={onRunQuery}
      />
    );
  }
  render(<Harness />);
  const lastChange = (): TracegapQuery => onChange.mock.calls[onChange.mock.calls.length - 1][0];
  // No delay between events: the tests run as fast as the machine allows and
  // do not depend on its speed.
  return { onChange, onRunQuery, lastChange, user: userEvent.setup({ delay: null }) };
}

describe('QueryEditor', () => {
  it('starts a query without a type as a trace query with a labelled trace ID input and help', () => {
    setup({ refId: 'A' } as TracegapQuery);
    expect(screen.getByRole('radio', { name: 'Trace' })).toBeChecked();
    expect(screen.getByLabelText(S.traceId.label)).toHaveValue('');
    expect(screen.getByTestId(S.emptyState.testId)).toHaveTextContent('Paste a trace ID');
    expect(screen.queryByLabelText(S.query.label)).not.toBeInTheDocument();
    expect(screen.queryByRole('radiogroup', { name: S.groupBy.label })).not.toBeInTheDocument();
  });

  it('offers the four query types in one labelled group', () => {
    setup({ refId: 'A', queryType: 'trace' });
    const group = screen.getByRole('radiogroup', { name: S.queryType.label });
    const radios = within(group).getAllByRole('radio');
    expect(radios).toHaveLength(4);
    for (const name of ['Trace', 'Search', 'Wait metrics', 'Annotations']) {
      expect(within(group).getByRole('radio', { name })).toBeInTheDocument();
    }
  });

  it('propagates a typed trace ID and runs the query on blur', async () => {
    const { onChange, onRunQuery, lastChange, user } = setup({ refId: 'A', queryType: 'trace' });
    await user.type(screen.getByLabelText(S.traceId.label), '0af7651916cd43dd8448eb211c80319c');
    expect(onChange).toHaveBeenCalledTimes(32);
    expect(lastChange()).toEqual({ refId: 'A', queryType: 'trace', traceId: '0af7651916cd43dd8448eb211c80319c' });
    expect(onRunQuery).not.toHaveBeenCalled();
    expect(screen.queryByTestId(S.emptyState.testId)).not.toBeInTheDocument();

    await user.tab();
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it('runs the query on Enter and accepts a template variable', async () => {
    const { onRunQuery, lastChange, user } = setup({ refId: 'A', queryType: 'trace' });
    await user.click(screen.getByLabelText(S.traceId.label));
    await user.paste('$traceId');
    await user.keyboard('{Enter}');
    expect(lastChange()).toEqual({ refId: 'A', queryType: 'trace', traceId: '$traceId' });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
    expect(screen.queryByText(/A trace ID is up to 32 hex characters/)).not.toBeInTheDocument();
  });

  it('explains a malformed trace ID and does not run it', async () => {
    const { onRunQuery, user } = setup({ refId: 'A', queryType: 'trace' });
    await user.click(screen.getByLabelText(S.traceId.label));
    await user.paste('abc123xyz');
    await user.keyboard('{Enter}');
    await user.tab();
    expect(
      screen.getByText(
        'A trace ID is up to 32 hex characters (e.g. 0af7651916cd43dd8448eb211c80319c) or a variable such as $traceId'
      )
    ).toBeInTheDocument();
    expect(onRunQuery).not.toHaveBeenCalled();
  });

  it('switching to Search changes the type, runs at once and shows TraceQL and limit', async () => {
    const { onChange, onRunQuery, user } = setup({ refId: 'A', queryType: 'trace', traceId: 'abc' });
    await user.click(screen.getByRole('radio', { name: 'Search' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'search', traceId: 'abc' });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
    expect(screen.getByLabelText(S.query.label)).toBeInTheDocument();
    expect(screen.getByLabelText(S.limit.label)).toHaveAttribute('placeholder', '20');
    expect(screen.queryByLabelText(S.traceId.label)).not.toBeInTheDocument();
  });

  it('changes query type with the keyboard', async () => {
    const { lastChange, user } = setup({ refId: 'A', queryType: 'trace' });
    await user.tab();
    expect(screen.getByRole('radio', { name: 'Trace' })).toHaveFocus();
    await user.keyboard('{ArrowRight}');
    expect(lastChange().queryType).toBe('search');
  });

  it('edits TraceQL and limit for a search', async () => {
    const { lastChange, onRunQuery, user } = setup({ refId: 'A', queryType: 'search' });
    await user.click(screen.getByLabelText(S.query.label));
    await user.paste('{duration > 1s}');
    expect(lastChange()).toEqual({ refId: 'A', queryType: 'search', query: '{duration > 1s}' });
    await user.click(screen.getByLabelText(S.limit.label));
    await user.paste('5');
    await user.keyboard('{Enter}');
    expect(lastChange()).toEqual({ refId: 'A', queryType: 'search', query: '{duration > 1s}', limit: 5 });
    expect(onRunQuery).toHaveBeenCalledTimes(2); // blur of TraceQL when moving to limit, then Enter
  });

  it('clearing the limit removes it so the default applies', async () => {
    const { lastChange, user } = setup({ refId: 'A', queryType: 'search', limit: 5 });
    await user.clear(screen.getByLabelText(S.limit.label));
    expect(lastChange()).toEqual({ refId: 'A', queryType: 'search', limit: undefined });
  });

  it('rejects a limit of 0 with a message and does not run', async () => {
    const { onRunQuery, user } = setup({ refId: 'A', queryType: 'search', limit: 5 });
    const limit = screen.getByLabelText(S.limit.label);
    await user.clear(limit);
    await user.paste('0');
    await user.keyboard('{Enter}');
    expect(screen.getByText('Enter a whole number of 1 or more, or leave empty for the default')).toBeInTheDocument();
    expect(onRunQuery).not.toHaveBeenCalled();
  });

  it('offers group by only for wait metrics, and applies it at once', async () => {
    const { onChange, onRunQuery, user } = setup({ refId: 'A', queryType: 'waitMetrics', query: '{}' });
    expect(screen.getByRole('radio', { name: 'Service' })).toBeChecked();
    await user.click(screen.getByRole('radio', { name: 'Service and operation' }));
    expect(onChange).toHaveBeenLastCalledWith({
      refId: 'A',
      queryType: 'waitMetrics',
      query: '{}',
      groupBy: 'service_operation',
    });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it.each(['trace', 'search', 'annotations'] as const)('offers no measures for %s', (queryType) => {
    setup({ refId: 'A', queryType });
    expect(screen.queryByLabelText(S.measures.label)).not.toBeInTheDocument();
    expect(screen.queryByText(/^All: /)).not.toBeInTheDocument();
  });

  it('offers measures for wait metrics, all of them by default', () => {
    setup({ refId: 'A', queryType: 'waitMetrics', query: '{}' });
    const input = screen.getByLabelText(S.measures.label);
    // The visible label is bound to the select's input, not only an aria-label.
    expect(document.querySelector(`label[for="${S.measures.id}-A"]`)).toHaveTextContent(S.measures.label);
    expect(input).toHaveAttribute('id', `${S.measures.id}-A`);
    expect(screen.getByText(`All: ${MEASURES.join(', ')}`)).toBeInTheDocument();
  });

  it('selecting a measure propagates it and runs the query', async () => {
    const { onChange, onRunQuery, user } = setup({ refId: 'A', queryType: 'waitMetrics', query: '{}' });
    await user.click(screen.getByLabelText(S.measures.label));
    expect(screen.getByText('The part of the wait no child span explains, in milliseconds')).toBeInTheDocument();
    await user.click(screen.getByText('retries'));
    expect(onChange).toHaveBeenLastCalledWith({
      refId: 'A',
      queryType: 'waitMetrics',
      query: '{}',
      measures: ['retries'],
    });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
    expect(screen.queryByText(/^All: /)).not.toBeInTheDocument();
  });

  it('keeps picked measures in the order the backend emits them', async () => {
    const { onChange, user } = setup({ refId: 'A', queryType: 'waitMetrics', measures: ['retries'] });
    await user.click(screen.getByLabelText(S.measures.label));
    await user.click(screen.getByText('wait_ms'));
    expect(onChange).toHaveBeenLastCalledWith({
      refId: 'A',
      queryType: 'waitMetrics',
      measures: ['wait_ms', 'retries'],
    });
  });

  it('picks and drops measures with the keyboard; dropping the last one restores the default', async () => {
    const { onChange, onRunQuery, lastChange, user } = setup({
      refId: 'A',
      queryType: 'waitMetrics',
      groupBy: 'service',
    });
    await user.click(screen.getByRole('radio', { name: 'Service' }));
    onChange.mockClear();
    onRunQuery.mockClear();
    await user.tab();
    expect(screen.getByLabelText(S.measures.label)).toHaveFocus();
    await user.keyboard('{ArrowDown}{ArrowDown}{Enter}'); // open the menu, move to unaccounted_ms, pick it
    expect(lastChange()).toEqual({
      refId: 'A',
      queryType: 'waitMetrics',
      groupBy: 'service',
      measures: ['unaccounted_ms'],
    });
    // react-select blurs after a pick on touch-capable devices, and jsdom counts
    // as one; on a desktop browser focus stays, so put it back as it would be.
    act(() => screen.getByLabelText(S.measures.label).focus());
    await user.keyboard('{Backspace}');
    expect(onChange).toHaveBeenCalledTimes(2);
    expect(lastChange()).toEqual({ refId: 'A', queryType: 'waitMetrics', groupBy: 'service', measures: undefined });
    expect(onRunQuery).toHaveBeenCalledTimes(2);
    expect(screen.getByText(`All: ${MEASURES.join(', ')}`)).toBeInTheDocument();
  });

  it('removes one picked measure with its remove button', async () => {
    const { onChange, user } = setup({ refId: 'A', queryType: 'waitMetrics', measures: ['wait_ms', 'retries'] });
    const chips = screen.getAllByRole('button', { name: 'Remove' });
    expect(chips).toHaveLength(2);
    await user.click(chips[0]);
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'waitMetrics', measures: ['retries'] });
  });

  it('shows a comma-separated measures string from hand-written JSON as picked measures', () => {
    setup({ refId: 'A', queryType: 'waitMetrics', measures: 'retries,wait_ms' as unknown as Measure[] });
    expect(screen.getByText('wait_ms')).toBeInTheDocument();
    expect(screen.getByText('retries')).toBeInTheDocument();
    expect(screen.queryByText(/^All: /)).not.toBeInTheDocument();
  });

  it.each(['search', 'waitMetrics', 'annotations'] as const)('shows TraceQL for %s', (queryType) => {
    setup({ refId: 'A', queryType });
    expect(screen.getByLabelText(S.query.label)).toBeInTheDocument();
    expect(screen.queryByLabelText(S.traceId.label)).not.toBeInTheDocument();
  });

  it('shows the data source defaults as placeholders for the overrides and edits them', async () => {
    const { lastChange, user } = setup(
      { refId: 'A', queryType: 'trace', traceId: 'abc' },
      { minGapMs: 250, logSelector: '{job="api"}' }
    );
    const minGap = screen.getByLabelText(S.minGapMs.label);
    const selector = screen.getByLabelText(S.logSelector.label);
    expect(minGap).toHaveAttribute('placeholder', '250');
    expect(selector).toHaveAttribute('placeholder', '{job="api"}');

    await user.click(minGap);
    await user.paste('500');
    expect(lastChange()).toEqual({ refId: 'A', queryType: 'trace', traceId: 'abc', minGapMs: 500 });
    await user.click(selector);
    await user.paste('{service_name="widget-service"}');
    expect(lastChange()).toEqual({
      refId: 'A',
      queryType: 'trace',
      traceId: 'abc',
      minGapMs: 500,
      logSelector: '{service_name="widget-service"}',
    });
  });

  it('falls back to the built-in defaults as placeholders', () => {
    setup({ refId: 'A', queryType: 'trace' });
    expect(screen.getByLabelText(S.minGapMs.label)).toHaveAttribute('placeholder', '100');
    expect(screen.getByLabelText(S.logSelector.label)).toHaveAttribute('placeholder', '{service_name=~".+"}');
  });

  it('explains a log selector that is not a stream selector', async () => {
    const { onRunQuery, user } = setup({ refId: 'A', queryType: 'trace', traceId: 'abc' });
    await user.click(screen.getByLabelText(S.logSelector.label));
    await user.paste('service_name="x"');
    await user.keyboard('{Enter}');
    expect(screen.getByText('Enter a LogQL stream selector in braces, e.g. {service_name=~".+"}')).toBeInTheDocument();
    expect(onRunQuery).not.toHaveBeenCalled();
  });

  it('gives each query row its own input ids', () => {
    const datasource = newDataSource();
    render(
      <>
        <QueryEditor
          query={{ refId: 'A', queryType: 'trace' }}
          datasource={datasource}
          onChange={jest.fn()}
          onRunQuery={jest.fn()}
        />
        <QueryEditor
          query={{ refId: 'B', queryType: 'trace' }}
          datasource={datasource}
          onChange={jest.fn()}
          onRunQuery={jest.fn()}
        />
      </>
    );
    const ids = screen.getAllByLabelText(S.traceId.label).map((el) => el.id);
    expect(ids).toEqual([`${S.traceId.id}-A`, `${S.traceId.id}-B`]);
  });
});
