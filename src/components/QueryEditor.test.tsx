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
  it('compares a trace with typical when the switch is on, with an optional baseline size', async () => {
    const { lastChange, onRunQuery, user } = setup({ refId: 'A', queryType: 'trace', traceId: 'abc' });
    const toggle = screen.getByLabelText(S.compare.label);
    expect(toggle).not.toBeChecked();
    expect(screen.queryByLabelText(S.baselineLimit.label)).not.toBeInTheDocument();
    await user.click(toggle);
    expect(lastChange()).toEqual({ refId: 'A', queryType: 'trace', traceId: 'abc', compare: true });
    expect(onRunQuery).toHaveBeenCalledTimes(1);

    const baseline = screen.getByLabelText(S.baselineLimit.label);
    expect(baseline).toHaveAttribute('placeholder', '20');
    await user.click(baseline);
    await user.paste('2');
    expect(lastChange().baselineLimit).toBe(2);
    expect(screen.getByText(/3.*200/)).toBeInTheDocument();
    await user.tab();
    expect(onRunQuery).toHaveBeenCalledTimes(1); // an invalid size is not run
  });

  it('shows the compare switch on when the data source compares by default, and lets a query turn it off', async () => {
    const { lastChange, user } = setup({ refId: 'A', queryType: 'trace', traceId: 'abc' }, { compareByDefault: true });
    const toggle = screen.getByLabelText(S.compare.label);
    expect(toggle).toBeChecked();
    await user.click(toggle);
    expect(lastChange().compare).toBe(false);
  });

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

  describe('TraceQL field', () => {
    it('highlights the query it holds', () => {
      setup({ refId: 'A', queryType: 'search', query: '{resource.service.name="api" && duration > 500ms}' });
      const input = screen.getByLabelText(S.query.label);
      expect(input).toHaveValue('{resource.service.name="api" && duration > 500ms}');
      expect(input).toHaveAttribute('aria-invalid', 'false');
      const highlight = screen.getByTestId(`${input.id}-highlight`);
      // The coloured copy shows exactly the text, in pieces of known kinds.
      expect(highlight).toHaveTextContent('{resource.service.name="api" && duration > 500ms}', {
        normalizeWhitespace: false,
      });
      const kinds = Array.from(highlight.querySelectorAll('[data-token]'))
        .filter((el) => el.getAttribute('data-token') !== 'plain')
        .map((el) => [el.textContent, el.getAttribute('data-token')]);
      expect(kinds).toEqual([
        ['resource.service.name', 'attribute'],
        ['=', 'operator'],
        ['"api"', 'string'],
        ['&&', 'operator'],
        ['duration', 'intrinsic'],
        ['>', 'operator'],
        ['500ms', 'number'],
      ]);
      expect(screen.queryByTestId(S.traceqlError.testId)).not.toBeInTheDocument();
    });

    it('re-highlights as the query changes and stores it', async () => {
      const { lastChange, user } = setup({ refId: 'A', queryType: 'waitMetrics' });
      const input = screen.getByLabelText(S.query.label);
      await user.click(input);
      await user.paste('{ span.http.status_code >= 500 }');
      expect(lastChange()).toEqual({ refId: 'A', queryType: 'waitMetrics', query: '{ span.http.status_code >= 500 }' });
      const highlight = screen.getByTestId(`${input.id}-highlight`);
      expect(highlight.querySelector('[data-token="attribute"]')).toHaveTextContent('span.http.status_code');
      expect(highlight.querySelector('[data-token="number"]')).toHaveTextContent('500');
    });

    it('shows a syntax error inline, underlines where it is, and still runs the query', async () => {
      const { onRunQuery, user } = setup({ refId: 'A', queryType: 'search' });
      const input = screen.getByLabelText(S.query.label);
      await user.click(input);
      await user.paste('{ span.foo = }');
      expect(await screen.findByTestId(S.traceqlError.testId)).toHaveTextContent(
        'TraceQL syntax error at character 14: unexpected "}"'
      );
      expect(input).toHaveAttribute('aria-invalid', 'true');
      expect(screen.getByTestId(`${input.id}-highlight`).querySelector('[data-token="error"]')).toHaveTextContent('}');
      // Tempo is the judge: the grammar may lag its syntax, so the query still runs.
      await user.keyboard('{Enter}');
      expect(onRunQuery).toHaveBeenCalledTimes(1);

      await user.clear(input);
      await user.paste('{ span.foo = "bar" }');
      expect(screen.queryByTestId(S.traceqlError.testId)).not.toBeInTheDocument();
      expect(input).toHaveAttribute('aria-invalid', 'false');
    });

    it('says when a query ends too early', () => {
      setup({ refId: 'A', queryType: 'annotations', query: '{ status = error' });
      expect(screen.getByTestId(S.traceqlError.testId)).toHaveTextContent(
        'TraceQL syntax error: the query ends too early'
      );
    });

    it('accepts an empty query (all traces)', () => {
      setup({ refId: 'A', queryType: 'search', query: '' });
      expect(screen.queryByTestId(S.traceqlError.testId)).not.toBeInTheDocument();
    });
  });

  describe('comparison and log lines (trace queries)', () => {
    it('compare is off by default, and the baseline size appears when it is switched on', async () => {
      const { onRunQuery, lastChange, user } = setup({ refId: 'A', queryType: 'trace', traceId: 'abc' });
      const compare = screen.getByLabelText(S.compare.label);
      expect(compare).not.toBeChecked();
      expect(screen.queryByLabelText(S.baselineLimit.label)).not.toBeInTheDocument();
      await user.click(compare);
      expect(lastChange()).toEqual({ refId: 'A', queryType: 'trace', traceId: 'abc', compare: true });
      expect(onRunQuery).toHaveBeenCalledTimes(1);
      const baseline = screen.getByLabelText(S.baselineLimit.label);
      expect(baseline).toHaveAttribute('placeholder', '20');
      await user.click(baseline);
      await user.paste('50');
      expect(lastChange()).toEqual({
        refId: 'A',
        queryType: 'trace',
        traceId: 'abc',
        compare: true,
        baselineLimit: 50,
      });
    });

    it("starts from the data source's compareByDefault, and a query can switch it off", async () => {
      const { lastChange, user } = setup(
        { refId: 'A', queryType: 'trace', traceId: 'abc' },
        { compareByDefault: true }
      );
      expect(screen.getByLabelText(S.compare.label)).toBeChecked();
      await user.click(screen.getByLabelText(S.compare.label));
      expect(lastChange()).toEqual({ refId: 'A', queryType: 'trace', traceId: 'abc', compare: false });
      expect(screen.queryByLabelText(S.baselineLimit.label)).not.toBeInTheDocument();
    });

    it.each([
      [2, 'Enter a whole number from 3 to 200 (traces), or leave empty for the default'],
      [201, 'Enter a whole number from 3 to 200 (traces), or leave empty for the default'],
    ])('rejects a baseline of %p traces and does not run', async (n, message) => {
      const { onRunQuery, user } = setup({ refId: 'A', queryType: 'trace', traceId: 'abc', compare: true });
      await user.click(screen.getByLabelText(S.baselineLimit.label));
      await user.paste(String(n));
      await user.keyboard('{Enter}');
      expect(screen.getByText(message)).toBeInTheDocument();
      expect(onRunQuery).not.toHaveBeenCalled();
    });

    it("overrides maxLogLines, with the data source's value as placeholder", async () => {
      const { lastChange, user } = setup({ refId: 'A', queryType: 'trace', traceId: 'abc' }, { maxLogLines: 800 });
      const lines = screen.getByLabelText(S.maxLogLines.label);
      expect(lines).toHaveAttribute('placeholder', '800');
      await user.click(lines);
      await user.paste('100');
      expect(lastChange()).toEqual({ refId: 'A', queryType: 'trace', traceId: 'abc', maxLogLines: 100 });
    });

    it.each(['search', 'waitMetrics', 'annotations'] as const)('offers no comparison for %s', (queryType) => {
      setup({ refId: 'A', queryType });
      expect(screen.queryByLabelText(S.compare.label)).not.toBeInTheDocument();
      expect(screen.queryByLabelText(S.maxLogLines.label)).not.toBeInTheDocument();
    });
  });

  it('offers the breakdown measures for wait metrics', async () => {
    const { onChange, user } = setup({ refId: 'A', queryType: 'waitMetrics', query: '{}' });
    expect(MEASURES).toEqual([
      'wait_ms',
      'unaccounted_ms',
      'retries',
      'breakdown_waiting_ms',
      'breakdown_network_ms',
      'breakdown_failed_attempt_ms',
    ]);
    await user.click(screen.getByLabelText(S.measures.label));
    await user.click(screen.getByText('breakdown_network_ms'));
    expect(onChange).toHaveBeenLastCalledWith({
      refId: 'A',
      queryType: 'waitMetrics',
      query: '{}',
      measures: ['breakdown_network_ms'],
    });
  });

  it('links to the query documentation', () => {
    setup({ refId: 'A', queryType: 'trace' });
    expect(screen.getByRole('link', { name: new RegExp(S.docs.link) })).toHaveAttribute(
      'href',
      'https://github.com/tracegap/correlator#query-types'
    );
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
