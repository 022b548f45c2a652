import React, { useState } from 'react';
import { dateTime, TimeRange } from '@grafana/data';
import { BackendSrv, BackendSrvRequest, FetchError, setBackendSrv } from '@grafana/runtime';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { lastValueFrom, of, throwError } from 'rxjs';

import { docUrl } from '../docs';
import { VariableQueryEditorSelectors as S } from '../selectors';
import { newDataSource } from '../test-utils';
import { TracegapVariableQuery } from '../types';
import { PREVIEW_SIZE, VariableQueryEditor } from './VariableQueryEditor';

// Grafana's backend service answering the data source's resources the way the
// Go backend does (pkg/plugin/resources.go): a JSON list of names, or an
// error whose body is {"message": …}. Records every request.
function fakeResources(answers: Record<string, string[] | { status: number; message: string }>) {
  const requests: BackendSrvRequest[] = [];
  setBackendSrv({
    fetch: (options: BackendSrvRequest) => {
      requests.push(options);
      const answer = answers[options.url.split('/').pop() ?? ''];
      if (!answer || !Array.isArray(answer)) {
        const err = answer ?? { status: 404, message: `unknown resource ${options.url}` };
        return throwError(() => ({ status: err.status, data: { message: err.message } }) as FetchError);
      }
      return of({ data: answer, status: 200, ok: true, headers: new Headers(), url: options.url, config: options });
    },
  } as unknown as BackendSrv);
  return requests;
}

const range: TimeRange = {
  from: dateTime(1795624297000),
  to: dateTime(1795624897000),
  raw: { from: 'now-10m', to: 'now' },
};

// Renders the editor as Grafana's variable editor does: each onChange comes
// back as the new query prop.
function setup(initial: TracegapVariableQuery | string) {
  const onChange = jest.fn();
  const datasource = newDataSource();
  function Harness() {
    const [query, setQuery] = useState(initial);
    return (
      <VariableQueryEditor
        // Grafana passes older variables' bare text as the query.
        query={query as TracegapVariableQuery}
        datasource={datasource}
        range={range}
        onRunQuery={jest.fn()}
        onChange={(q) => {
          onChange(q);
          setQuery(q);
        }}
      />
    );
  }
  render(<Harness />);
  return { onChange, user: userEvent.setup({ delay: null }) };
}

describe('VariableQueryEditor', () => {
  it('offers services and Loki labels, and previews the services of the time range', async () => {
    const requests = fakeResources({ services: ['dashboard-service', 'widget-service'] });
    setup({ refId: 'A', query: 'services()' });
    expect(screen.getByRole('radio', { name: 'Services' })).toBeChecked();
    expect(screen.getByRole('radio', { name: 'Loki labels' })).not.toBeChecked();
    expect(await screen.findByText(`${S.preview.label} (2): dashboard-service, widget-service`)).toBeInTheDocument();
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      url: '/api/datasources/uid/tracegap-uid/resources/services',
      params: { start: 1795624297000, end: 1795624897000 },
    });
  });

  it('switching to Loki labels stores labels() and previews the label names', async () => {
    fakeResources({ services: ['widget-service'], labels: ['service_name', 'level'] });
    const { onChange, user } = setup({ refId: 'A', query: 'services()' });
    await screen.findByText(`${S.preview.label} (1): widget-service`);
    await user.click(screen.getByRole('radio', { name: 'Loki labels' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', query: 'labels()' });
    expect(await screen.findByText(`${S.preview.label} (2): service_name, level`)).toBeInTheDocument();
    expect(screen.queryByText(/widget-service/)).not.toBeInTheDocument();
  });

  it('reads a variable saved as bare text and stores it as a query object', async () => {
    fakeResources({ labels: ['service_name'] });
    const { onChange } = setup(' labels() ');
    expect(screen.getByRole('radio', { name: 'Loki labels' })).toBeChecked();
    expect(onChange).toHaveBeenCalledWith({ refId: 'TracegapVariableQuery', query: 'labels()' });
    expect(await screen.findByText(`${S.preview.label} (1): service_name`)).toBeInTheDocument();
  });

  it('starts a new variable as services()', async () => {
    fakeResources({ services: [] });
    const { onChange } = setup({ refId: 'A' } as TracegapVariableQuery);
    expect(onChange).toHaveBeenCalledWith({ refId: 'A', query: 'services()' });
    expect(await screen.findByText('No values in this time range.')).toBeInTheDocument();
  });

  it('lists the first values and counts the rest', async () => {
    const names = Array.from({ length: PREVIEW_SIZE + 5 }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
    fakeResources({ services: names });
    setup({ refId: 'A', query: 'services()' });
    const preview = await screen.findByText(new RegExp(`^${S.preview.label} \\(${names.length}\\)`));
    expect(preview).toHaveTextContent(names.slice(0, PREVIEW_SIZE).join(', ') + ' and 5 more');
    expect(preview).not.toHaveTextContent(names[PREVIEW_SIZE]);
  });

  it("shows the backend's message when the values cannot be listed", async () => {
    fakeResources({ services: { status: 502, message: 'Tempo at http://tempo:3200 is unreachable' } });
    setup({ refId: 'A', query: 'services()' });
    expect(await screen.findByText('Could not list the values')).toBeInTheDocument();
    expect(screen.getByText('Tempo at http://tempo:3200 is unreachable')).toBeInTheDocument();
  });

  it('links to the variable documentation', async () => {
    fakeResources({ services: [] });
    setup({ refId: 'A', query: 'services()' });
    expect(screen.getByRole('link', { name: new RegExp(S.docs.link) })).toHaveAttribute('href', docUrl('variables'));
    await screen.findByText('No values in this time range.');
  });
});

describe('variable support', () => {
  it('answers a variable query from the backend resource, over the request time range', async () => {
    const requests = fakeResources({ labels: ['service_name'] });
    const ds = newDataSource();
    const variables = ds.variables as unknown as {
      query: (r: unknown) => import('rxjs').Observable<{ data: unknown[] }>;
    };
    const res = await lastValueFrom(variables.query({ targets: [{ refId: 'A', query: 'labels()' }], range }));
    expect(res.data).toEqual([{ text: 'service_name', value: 'service_name' }]);
    expect(requests[0].params).toEqual({ start: 1795624297000, end: 1795624897000 });
  });
});
