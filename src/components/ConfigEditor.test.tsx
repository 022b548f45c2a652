import React, { useState } from 'react';
import { DataSourceInstanceSettings, DataSourcePluginMeta, DataSourceSettings } from '@grafana/data';
import { config, DataSourceSrv, setDataSourceSrv } from '@grafana/runtime';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { docUrl } from '../docs';
import { ConfigEditorSelectors as C, endpointSelectors } from '../selectors';
import { newSettings } from '../test-utils';
import { TracegapOptions, TracegapSecureJsonData } from '../types';
import { ConfigEditor } from './ConfigEditor';

type Settings = DataSourceSettings<TracegapOptions, TracegapSecureJsonData>;

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n';
const tempo = endpointSelectors('tempo');
const loki = endpointSelectors('loki');

// Grafana's Field puts its description (and a " *" for required fields) inside
// the <label>, so a field's accessible name is longer than its label. Find the
// input through the <label for> whose own text is the label: this also proves
// the label is bound to the input.
function queryByLabel(label: string): HTMLElement | null {
  const matches = Array.from(document.querySelectorAll('label')).filter(
    (el) => el.firstElementChild?.textContent?.replace(/ \*$/, '') === label
  );
  if (matches.length > 1) {
    throw new Error(`${matches.length} labels read "${label}"`);
  }
  if (!matches.length) {
    return null;
  }
  const input = document.getElementById(matches[0].htmlFor);
  if (!input) {
    throw new Error(`label "${label}" is bound to no element (for="${matches[0].htmlFor}")`);
  }
  return input;
}
function byLabel(label: string): HTMLElement {
  const input = queryByLabel(label);
  if (!input) {
    throw new Error(`no label reads "${label}"`);
  }
  return input;
}

// Every keystroke re-renders the whole form, so on a busy machine typing text
// key by key is what made these tests slow (and a timed-out test typed into
// the next one). Text that is not about typing is pasted: one input event,
// whatever the machine's speed; userEvent runs without delays between events.
function newUser() {
  return userEvent.setup({ delay: null });
}

/** Replaces an input's text with one paste, as a user pasting a value would. */
async function fill(user: ReturnType<typeof newUser>, el: HTMLElement, text: string) {
  await user.clear(el);
  await user.paste(text);
}

// Renders the editor the way Grafana does: each onOptionsChange comes back as
// the new options prop. Returns the recorded payloads.
function setup(initial: Settings = newSettings()) {
  const onOptionsChange = jest.fn();
  function Harness() {
    const [options, setOptions] = useState(initial);
    return (
      <ConfigEditor
        options={options}
        onOptionsChange={(o) => {
          onOptionsChange(o);
          setOptions(o);
        }}
      />
    );
  }
  render(<Harness />);
  const last = (): Settings => onOptionsChange.mock.calls[onOptionsChange.mock.calls.length - 1][0];
  return { onOptionsChange, last, user: newUser() };
}

// Grafana's data source service with two data sources, answering the picker's
// list requests by type the way Grafana does.
const lokiDs = { uid: 'loki-uid', name: 'Loki (prod)', type: 'loki' };
const promDs = { uid: 'prom-uid', name: 'Prometheus', type: 'prometheus' };
const getList = jest.fn();
beforeEach(() => {
  const all = [lokiDs, promDs].map(
    (ds) =>
      ({
        ...ds,
        id: 1,
        access: 'proxy',
        jsonData: {},
        readOnly: false,
        meta: { info: { logos: { small: '' } } } as unknown as DataSourcePluginMeta,
      }) as unknown as DataSourceInstanceSettings
  );
  getList.mockReset();
  getList.mockImplementation((filters: { type?: string }) =>
    all.filter((ds) => !filters.type || ds.type === filters.type)
  );
  setDataSourceSrv({
    getList,
    getInstanceSettings: (ref: string | { uid?: string } | null | undefined) =>
      all.find((ds) => ref && (ds.uid === ref || ds.name === ref || ds.uid === (ref as { uid?: string }).uid)),
  } as unknown as DataSourceSrv);
});

describe('ConfigEditor', () => {
  it('renders the sections with labelled inputs and the defaults as placeholders', () => {
    setup();
    for (const name of ['Tempo', 'Loki', 'Tenant', 'Log correlation', 'Trace to logs']) {
      expect(screen.getByRole('group', { name })).toBeInTheDocument();
    }
    expect(byLabel(tempo.url.label)).toHaveAttribute('placeholder', 'http://tempo:3200');
    expect(byLabel(loki.url.label)).toHaveAttribute('placeholder', 'http://loki:3100');
    expect(byLabel(C.correlation.logSelector.label)).toHaveAttribute('placeholder', '{service_name=~".+"}');
    expect(byLabel(C.correlation.retryPattern.label)).toHaveAttribute(
      'placeholder',
      'retrying|will retry|attempt \\d+ failed'
    );
    const defaults: Array<[string, string]> = [
      [C.correlation.minGapMs.label, '100'],
      [C.correlation.lokiMaxLines.label, '50000'],
      [C.correlation.maxLinesPerSpan.label, '100'],
      [C.correlation.lokiMarginSeconds.label, '5'],
      [C.correlation.timeoutSeconds.label, '30'],
      [C.correlation.tempoConcurrency.label, '8'],
      [C.correlation.maxTraceMB.label, '512'],
      [C.correlation.maxLogsMB.label, '512'],
      [C.correlation.maxLogLines.label, '5000'],
      [C.correlation.maxEmbeddedLines.label, '20000'],
      [C.correlation.maxTableRows.label, '1000'],
    ];
    for (const [label, placeholder] of defaults) {
      expect(byLabel(label)).toHaveAttribute('placeholder', placeholder);
    }
    expect(byLabel(C.correlation.giveUpPattern.label)).toHaveAttribute(
      'placeholder',
      "not retrying|giving up|no more retries|won't retry|will not retry|retries exhausted"
    );
    expect(byLabel(C.correlation.compareByDefault.label)).not.toBeChecked();
    expect(screen.getByRole('radio', { name: 'Auto' })).toBeChecked();
    // One wording of auto everywhere (README, CLI, here).
    expect(
      screen.getByText(
        'How Loki is asked for the lines of one trace. Auto: the line filter, plus the structured-metadata filter over the lines whose text does not match it, so each line is fetched once.'
      )
    ).toBeInTheDocument();
    expect(screen.getByRole('link', { name: new RegExp(C.docs.link) })).toHaveAttribute(
      'href',
      'https://github.com/tracegap/correlator#configuration'
    );
    expect(docUrl('configuration')).toBe('https://github.com/tracegap/correlator#configuration');
    // No proxy switch unless the Grafana server runs Secure Socks Proxy.
    expect(screen.queryByText('Secure Socks Proxy')).not.toBeInTheDocument();
    // No custom headers until one is added.
    expect(queryByLabel(tempo.headers.name(1).label)).not.toBeInTheDocument();
    // With no authentication, no credential inputs are shown.
    expect(queryByLabel(tempo.password.label)).not.toBeInTheDocument();
    expect(queryByLabel(tempo.token.label)).not.toBeInTheDocument();
  });

  it('writes the Tempo URL into jsonData, leaving everything else as it was', async () => {
    const initial = newSettings({ jsonData: { lokiUrl: 'http://loki:3100' } });
    const { last, user } = setup(initial);
    await user.click(byLabel(tempo.url.label));
    await user.paste('http://tempo:3200');
    expect(last()).toEqual({ ...initial, jsonData: { lokiUrl: 'http://loki:3100', tempoUrl: 'http://tempo:3200' } });
  });

  it('explains a URL without http(s)', async () => {
    const { user } = setup();
    await fill(user, byLabel(loki.url.label), 'loki:3100');
    expect(
      screen.getByText('Enter a full URL starting with http:// or https://, e.g. http://loki:3100')
    ).toBeInTheDocument();
    await fill(user, byLabel(loki.url.label), 'https://loki.example.com');
    expect(screen.queryByText(/Enter a full URL/)).not.toBeInTheDocument();
  });

  it('basic authentication stores the user in jsonData and the password as a secret', async () => {
    const initial = newSettings();
    const { last, user } = setup(initial);
    const group = screen.getByRole('radiogroup', { name: tempo.auth.label });
    await user.click(within(group).getByRole('radio', { name: 'Basic authentication' }));
    expect(last()).toEqual({ ...initial, jsonData: { tempoAuth: 'basic' } });

    await fill(user, byLabel(tempo.user.label), 'grafana');
    await fill(user, byLabel(tempo.password.label), 'hunter2');
    expect(last()).toEqual({
      ...initial,
      jsonData: { tempoAuth: 'basic', tempoUser: 'grafana' },
      secureJsonData: { tempoPassword: 'hunter2' },
    });
    // A typed secret is masked, not shown as text.
    expect(byLabel(tempo.password.label)).toHaveAttribute('type', 'password');
    // Loki's settings are untouched.
    expect(queryByLabel(loki.password.label)).not.toBeInTheDocument();
  });

  it('bearer authentication stores the token as a secret', async () => {
    const initial = newSettings({ jsonData: { lokiAuth: 'bearer' } });
    const { last, user } = setup(initial);
    await fill(user, byLabel(loki.token.label), 'glc_abc');
    expect(last()).toEqual({ ...initial, secureJsonData: { lokiToken: 'glc_abc' } });
  });

  it('shows stored secrets only as configured, never their values', async () => {
    const secret = 'do-not-show-me';
    const initial = newSettings({
      jsonData: { tempoAuth: 'bearer', lokiAuth: 'basic', lokiUser: 'loki' },
      secureJsonFields: { tempoToken: true, lokiPassword: true, tempoTlsCACert: true },
      // Grafana never sends stored secrets back, but even if it did they must not be shown.
      secureJsonData: { tempoToken: secret, lokiPassword: secret, tempoTlsCACert: secret },
    });
    const { container } = render(<ConfigEditor options={initial} onOptionsChange={jest.fn()} />);
    expect(container.innerHTML).not.toContain(secret);
    const values = Array.from(container.querySelectorAll('input, textarea')).map(
      (el) => (el as HTMLInputElement).value
    );
    expect(values).not.toContain(secret);
    expect(byLabel(tempo.token.label)).toHaveValue('configured');
    expect(byLabel(tempo.token.label)).toBeDisabled();
    expect(byLabel(loki.password.label)).toHaveValue('configured');
  });

  it('Reset clears a stored secret so a new one can be entered', async () => {
    const initial = newSettings({
      jsonData: { tempoAuth: 'bearer' },
      secureJsonFields: { tempoToken: true },
    });
    const { last, user } = setup(initial);
    await user.click(screen.getByRole('button', { name: 'Reset' }));
    expect(last()).toEqual({
      ...initial,
      secureJsonFields: { tempoToken: false },
      secureJsonData: { tempoToken: '' },
    });
    expect(byLabel(tempo.token.label)).toHaveValue('');
    expect(byLabel(tempo.token.label)).toBeEnabled();
  });

  it('stores the CA certificate as a secret and the TLS switch in jsonData', async () => {
    const initial = newSettings();
    const { last, user } = setup(initial);
    await user.click(byLabel(loki.tlsSkipVerify.label));
    expect(last()).toEqual({ ...initial, jsonData: { lokiTlsSkipVerify: true } });
    await user.click(byLabel(tempo.caCert.label));
    await user.paste('MIIB');
    expect(screen.getByText(/^Paste the CA certificate in PEM form/)).toBeInTheDocument();
    await user.clear(byLabel(tempo.caCert.label));
    await user.paste(PEM);
    expect(last()).toEqual({
      ...initial,
      jsonData: { lokiTlsSkipVerify: true },
      secureJsonData: { tempoTlsCACert: PEM },
    });
    expect(screen.queryByText(/^Paste the CA certificate in PEM form/)).not.toBeInTheDocument();
  });

  it('stores the shared tenant ID', async () => {
    const initial = newSettings();
    const { last, user } = setup(initial);
    await fill(user, byLabel(C.tenantId.label), 'tenant-a');
    expect(last()).toEqual({ ...initial, jsonData: { tenantId: 'tenant-a' } });
  });

  it('edits the log correlation settings', async () => {
    const initial = newSettings();
    const { last, user } = setup(initial);
    await fill(user, byLabel(C.correlation.logSelector.label), '{job="api"}');
    await fill(user, byLabel(C.correlation.traceIdFields.label), 'trace_id');
    await user.keyboard('{Enter}');
    await user.paste('traceId');
    await user.keyboard('{Enter}');
    await fill(user, byLabel(C.correlation.spanIdFields.label), 'span_id');
    await user.keyboard('{Enter}');
    await user.click(screen.getByRole('radio', { name: 'Structured metadata' }));
    await fill(user, byLabel(C.correlation.retryPattern.label), 'retry #\\d+');
    await fill(user, byLabel(C.correlation.giveUpPattern.label), 'gave up after \\d+ attempts');
    await user.click(byLabel(C.correlation.compareByDefault.label));
    const numbers: Array<[string, string]> = [
      [C.correlation.minGapMs.label, '250'],
      [C.correlation.lokiMaxLines.label, '10000'],
      [C.correlation.maxLinesPerSpan.label, '20'],
      [C.correlation.lokiMarginSeconds.label, '0'],
      [C.correlation.timeoutSeconds.label, '60'],
      [C.correlation.tempoConcurrency.label, '4'],
      [C.correlation.maxTraceMB.label, '64'],
      [C.correlation.maxLogsMB.label, '128'],
      [C.correlation.maxLogLines.label, '2000'],
      [C.correlation.maxEmbeddedLines.label, '500'],
      [C.correlation.maxTableRows.label, '250'],
    ];
    for (const [label, value] of numbers) {
      await fill(user, byLabel(label), value);
    }
    expect(last()).toEqual({
      ...initial,
      jsonData: {
        logSelector: '{job="api"}',
        traceIdFields: ['trace_id', 'traceId'],
        spanIdFields: ['span_id'],
        logQueryMode: 'metadata',
        retryPattern: 'retry #\\d+',
        minGapMs: 250,
        lokiMaxLines: 10000,
        maxLinesPerSpan: 20,
        lokiMarginSeconds: 0,
        timeoutSeconds: 60,
        tempoConcurrency: 4,
        maxTraceMB: 64,
        maxLogsMB: 128,
        maxLogLines: 2000,
        maxEmbeddedLines: 500,
        maxTableRows: 250,
        giveUpPattern: 'gave up after \\d+ attempts',
        compareByDefault: true,
      },
    });
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('stores compareByDefault, off until switched on', async () => {
    const { last, user } = setup();
    const toggle = byLabel(C.correlation.compareByDefault.label);
    expect(toggle).not.toBeChecked();
    await user.click(toggle);
    expect(last().jsonData.compareByDefault).toBe(true);
  });

  it('removing the last id field stores none, so the defaults apply', async () => {
    const initial = newSettings({ jsonData: { traceIdFields: ['trace_id'] } });
    const { last, user } = setup(initial);
    await user.click(screen.getByRole('button', { name: /Remove tag: trace_id/i }));
    expect(last()).toEqual({ ...initial, jsonData: { traceIdFields: undefined } });
  });

  it('clearing a number stores none, so the default applies', async () => {
    const initial = newSettings({ jsonData: { lokiMaxLines: 10000 } });
    const { last, user } = setup(initial);
    await user.clear(byLabel(C.correlation.lokiMaxLines.label));
    expect(last()).toEqual({ ...initial, jsonData: { lokiMaxLines: undefined } });
  });

  it.each<[string, TracegapOptions, string]>([
    ['a retry pattern that does not compile', { retryPattern: 'attempt (\\d+' }, 'Not a valid regular expression'],
    [
      'a retry pattern Go cannot run',
      { retryPattern: 'retry(?!ing)' },
      'Look-around and back-references are not supported',
    ],
    ['a negative minimum gap', { minGapMs: -1 }, 'Enter a whole number from 0 to 3600000 (milliseconds)'],
    ['a zero timeout', { timeoutSeconds: 0 }, 'Enter a whole number from 1 to 3600 (seconds)'],
    ['a timeout typed in milliseconds', { timeoutSeconds: 30000 }, 'Enter a whole number from 1 to 3600 (seconds)'],
    ['a fractional concurrency', { tempoConcurrency: 1.5 }, 'Enter a whole number from 1 to 64 (requests)'],
    ['a negative margin', { lokiMarginSeconds: -1 }, 'Enter a whole number from 0 to 3600 (seconds)'],
    ['a huge trace size', { maxTraceMB: 5000 }, 'Enter a whole number from 1 to 4096 (MiB)'],
    ['zero log lines shown', { maxLogLines: 0 }, 'Enter a whole number from 1 to 1000000 (lines)'],
    ['a give-up pattern that does not compile', { giveUpPattern: 'gave up (' }, 'Not a valid regular expression'],
    ['a give-up pattern that matches every line', { giveUpPattern: 'x*' }, 'This pattern matches every log line'],
    ['a tenant ID with a space', { tenantId: 'tenant a' }, 'Use only letters, digits'],
    ['a retry pattern that matches every line', { retryPattern: 'retry|' }, 'This pattern matches every log line'],
    ['a give-up pattern that does not compile', { giveUpPattern: 'giving up (' }, 'Not a valid regular expression'],
    [
      'a give-up pattern that matches every line',
      { giveUpPattern: 'giving up|' },
      'This pattern matches every log line',
    ],
    ['a log selector without braces', { logSelector: 'job="api"' }, 'Enter a LogQL stream selector in braces'],
    ['a Tempo URL without a scheme', { tempoUrl: 'tempo:3200' }, 'Enter a full URL starting with http:// or https://'],
    [
      'a trace-to-logs shift without a unit',
      { tracesToLogsV2: { spanStartTimeShift: '5' } },
      'Enter a duration with a unit',
    ],
  ])('explains %s', (_, jsonData, message) => {
    setup(newSettings({ jsonData }));
    expect(screen.getByText(new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))).toBeInTheDocument();
  });

  describe('Custom HTTP headers', () => {
    it('adds a Tempo header: the name in jsonData, the value as a secret, Loki untouched', async () => {
      const initial = newSettings();
      const { last, user } = setup(initial);
      await user.click(screen.getByRole('button', { name: tempo.headers.add }));
      expect(last()).toEqual({ ...initial, jsonData: { tempoHttpHeaderName1: '' } });
      await fill(user, screen.getByLabelText(tempo.headers.name(1).label), 'X-Api-Key');
      await fill(user, screen.getByLabelText(tempo.headers.value(1).label), 'k-123');
      expect(last()).toEqual({
        ...initial,
        jsonData: { tempoHttpHeaderName1: 'X-Api-Key' },
        secureJsonData: { tempoHttpHeaderValue1: 'k-123' },
      });
      expect(screen.getByLabelText(tempo.headers.value(1).label)).toHaveAttribute('type', 'password');
      expect(screen.queryByLabelText(loki.headers.name(1).label)).not.toBeInTheDocument();

      await user.click(screen.getByRole('button', { name: tempo.headers.add }));
      await fill(user, screen.getByLabelText(tempo.headers.name(2).label), 'X-Team');
      expect(last().jsonData).toEqual({ tempoHttpHeaderName1: 'X-Api-Key', tempoHttpHeaderName2: 'X-Team' });
    });

    it('keeps Loki headers apart from Tempo headers', async () => {
      const initial = newSettings({ jsonData: { tempoHttpHeaderName1: 'X-Api-Key' } });
      const { last, user } = setup(initial);
      await user.click(screen.getByRole('button', { name: loki.headers.add }));
      await fill(user, screen.getByLabelText(loki.headers.name(1).label), 'X-Loki-Tenant');
      await fill(user, screen.getByLabelText(loki.headers.value(1).label), 'blue');
      expect(last()).toEqual({
        ...initial,
        jsonData: { tempoHttpHeaderName1: 'X-Api-Key', lokiHttpHeaderName1: 'X-Loki-Tenant' },
        secureJsonData: { lokiHttpHeaderValue1: 'blue' },
      });
    });

    it('shows a stored header value only as configured, never its value, and Reset clears it', async () => {
      const secret = 'do-not-show-this-key';
      const initial = newSettings({
        jsonData: { tempoHttpHeaderName1: 'X-Api-Key', lokiHttpHeaderName3: 'X-Org' },
        secureJsonFields: { tempoHttpHeaderValue1: true, lokiHttpHeaderValue3: true },
        // Grafana never sends stored secrets back, but even if it did they must not be shown.
        secureJsonData: { tempoHttpHeaderValue1: secret, lokiHttpHeaderValue3: secret },
      });
      const { last, user } = setup(initial);
      expect(document.body.innerHTML).not.toContain(secret);
      const value = screen.getByLabelText(tempo.headers.value(1).label);
      expect(value).toHaveValue('configured');
      expect(value).toBeDisabled();
      expect(screen.getByLabelText(tempo.headers.name(1).label)).toHaveValue('X-Api-Key');
      expect(screen.getByLabelText(loki.headers.value(3).label)).toHaveValue('configured');

      const resets = screen.getAllByRole('button', { name: 'Reset' });
      expect(resets).toHaveLength(2);
      await user.click(resets[0]);
      expect(last().secureJsonFields).toEqual({ tempoHttpHeaderValue1: false, lokiHttpHeaderValue3: true });
      expect(last().secureJsonData).toEqual({ tempoHttpHeaderValue1: '', lokiHttpHeaderValue3: secret });
      expect(screen.getByLabelText(tempo.headers.value(1).label)).toBeEnabled();
      expect(document.body.innerHTML).not.toContain(secret);
    });

    it('removing a header drops its name and clears its stored value; a new one takes the free number', async () => {
      const initial = newSettings({
        jsonData: { tempoHttpHeaderName1: 'X-A', tempoHttpHeaderName2: 'X-B' },
        secureJsonFields: { tempoHttpHeaderValue1: true, tempoHttpHeaderValue2: true },
      });
      const { last, user } = setup(initial);
      await user.click(screen.getByRole('button', { name: tempo.headers.remove(1) }));
      expect(last()).toEqual({
        ...initial,
        jsonData: { tempoHttpHeaderName1: undefined, tempoHttpHeaderName2: 'X-B' },
        secureJsonFields: { tempoHttpHeaderValue1: false, tempoHttpHeaderValue2: true },
        secureJsonData: { tempoHttpHeaderValue1: '' },
      });
      expect(screen.queryByLabelText(tempo.headers.name(1).label)).not.toBeInTheDocument();
      // The stored value of header 2 is not moved (it cannot be read back).
      expect(screen.getByLabelText(tempo.headers.value(2).label)).toHaveValue('configured');
      await user.click(screen.getByRole('button', { name: tempo.headers.add }));
      expect(last().jsonData).toEqual({ tempoHttpHeaderName1: '', tempoHttpHeaderName2: 'X-B' });
      expect(screen.getByLabelText(tempo.headers.value(1).label)).toHaveValue('');
    });
  });

  describe('Secure Socks Proxy', () => {
    afterEach(() => {
      config.secureSocksDSProxyEnabled = false;
    });

    it("offers Grafana's switch when the server runs the proxy, stored as enableSecureSocksProxy", async () => {
      config.secureSocksDSProxyEnabled = true;
      const initial = newSettings();
      const { last, user } = setup(initial);
      const heading = screen.getByText('Secure Socks Proxy');
      // Grafana's component does not bind its "Enabled" label to the switch; it is the only input of its block.
      const section = heading.closest('div') as HTMLElement;
      expect(within(section).getByText('Enabled')).toBeInTheDocument();
      await user.click(section.querySelector('input[type="checkbox"]') as HTMLElement);
      expect(last()).toEqual({ ...initial, jsonData: { enableSecureSocksProxy: true } });
    });
  });

  describe('Trace to logs', () => {
    it('offers only Loki data sources and stores the chosen uid', async () => {
      const initial = newSettings();
      const { last, user } = setup(initial);
      expect(getList).toHaveBeenCalledWith(expect.objectContaining({ type: 'loki' }));
      await user.click(byLabel(C.traceToLogs.datasource.label));
      expect(screen.queryByText('Prometheus')).not.toBeInTheDocument();
      await user.click(screen.getByText('Loki (prod)'));
      expect(last()).toEqual({ ...initial, jsonData: { tracesToLogsV2: { datasourceUid: 'loki-uid' } } });
    });

    it('writes the time shifts, filters, tags and custom query into tracesToLogsV2', async () => {
      const initial = newSettings({ jsonData: { tracesToLogsV2: { datasourceUid: 'loki-uid' } } });
      const { last, user } = setup(initial);
      expect(screen.getByText('Loki (prod)')).toBeInTheDocument();
      await fill(user, byLabel(C.traceToLogs.spanStartTimeShift.label), '-5m');
      await fill(user, byLabel(C.traceToLogs.spanEndTimeShift.label), '5m');
      await user.click(byLabel(C.traceToLogs.filterByTraceID.label));
      await user.click(byLabel(C.traceToLogs.filterBySpanID.label));
      await user.click(byLabel(C.traceToLogs.tags.label));
      await user.paste('service.name=service_name, pod');
      await user.tab();
      expect(queryByLabel(C.traceToLogs.query.label)).not.toBeInTheDocument();
      await user.click(byLabel(C.traceToLogs.customQuery.label));
      await user.click(byLabel(C.traceToLogs.query.label));
      await user.paste('{job="api"}');
      expect(last()).toEqual({
        ...initial,
        jsonData: {
          tracesToLogsV2: {
            datasourceUid: 'loki-uid',
            spanStartTimeShift: '-5m',
            spanEndTimeShift: '5m',
            filterByTraceID: true,
            filterBySpanID: true,
            tags: [{ key: 'service.name', value: 'service_name' }, { key: 'pod' }],
            customQuery: true,
            query: '{job="api"}',
          },
        },
      });
      // The tags read back in their canonical form.
      expect(byLabel(C.traceToLogs.tags.label)).toHaveValue('service.name=service_name, pod');
    });

    it('leaves the settings alone when the tags lose focus unchanged', async () => {
      const { onOptionsChange, user } = setup(
        newSettings({ jsonData: { tracesToLogsV2: { tags: [{ key: 'pod' }] } } })
      );
      await user.click(byLabel(C.traceToLogs.tags.label));
      await user.tab();
      expect(onOptionsChange).not.toHaveBeenCalled();
    });
  });
});
