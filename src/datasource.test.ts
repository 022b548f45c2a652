import { CoreApp, DataQueryRequest, dateTime, ScopedVars } from '@grafana/data';
import { BackendSrv, BackendSrvRequest, setBackendSrv, setTemplateSrv, TemplateSrv } from '@grafana/runtime';
import { lastValueFrom, of } from 'rxjs';

import { newDataSource } from './test-utils';
import { Measure, TracegapQuery } from './types';

// Grafana's template service, reduced to what the data source uses: $name and
// ${name} replaced from scoped variables first, then dashboard variables.
const dashboardVariables: Record<string, string> = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  svc: 'widget-service',
};
function fakeTemplateSrv(): TemplateSrv {
  return {
    replace: (target?: string, scopedVars?: ScopedVars) =>
      (target ?? '').replace(/\$\{(\w+)\}|\$(\w+)/g, (match, braced, bare) => {
        const name = braced ?? bare;
        const scoped = scopedVars?.[name]?.value;
        return scoped !== undefined ? String(scoped) : (dashboardVariables[name] ?? match);
      }),
  } as unknown as TemplateSrv;
}

// Grafana's backend service, recording every request the data source makes
// and answering with `data`.
function fakeBackendSrv(data: unknown) {
  const requests: BackendSrvRequest[] = [];
  const srv = {
    fetch: (options: BackendSrvRequest) => {
      requests.push(options);
      return of({ data, status: 200, ok: true, headers: new Headers(), url: options.url, config: options });
    },
  } as unknown as BackendSrv;
  setBackendSrv(srv);
  return requests;
}

beforeEach(() => {
  setTemplateSrv(fakeTemplateSrv());
});

describe('applyTemplateVariables', () => {
  it('interpolates every string field and trims the trace id', () => {
    const query: TracegapQuery = {
      refId: 'A',
      queryType: 'trace',
      traceId: ' $traceId ',
      logSelector: '{service_name="$svc"}',
      query: '{resource.service.name="${svc}"}',
      minGapMs: 250,
    };
    expect(newDataSource().applyTemplateVariables(query, {})).toEqual({
      refId: 'A',
      queryType: 'trace',
      traceId: '0af7651916cd43dd8448eb211c80319c',
      logSelector: '{service_name="widget-service"}',
      query: '{resource.service.name="widget-service"}',
      minGapMs: 250,
    });
  });

  it('prefers scoped variables (repeated panels, data links) over dashboard ones', () => {
    const scoped: ScopedVars = { traceId: { text: 'x', value: '4bf92f3577b34da6a3ce929d0e0e4736' } };
    const out = newDataSource().applyTemplateVariables({ refId: 'A', queryType: 'trace', traceId: '$traceId' }, scoped);
    expect(out.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it('sends a query saved without a type as the trace query the editor shows', () => {
    const out = newDataSource().applyTemplateVariables({ refId: 'A', traceId: 'abc' } as TracegapQuery, {});
    expect(out).toEqual({ refId: 'A', queryType: 'trace', traceId: 'abc' });
  });

  it('leaves absent fields absent', () => {
    const out = newDataSource().applyTemplateVariables({ refId: 'A', queryType: 'search' }, {});
    expect(out).toEqual({ refId: 'A', queryType: 'search' });
    expect(out.query).toBeUndefined();
  });

  it('sends the interpolated query to the backend', async () => {
    const requests = fakeBackendSrv({ results: { A: { frames: [] } } });
    const ds = newDataSource();
    const request = {
      targets: [
        { refId: 'A', queryType: 'search', query: '{resource.service.name="$svc"}', limit: 5 },
        { refId: 'B', queryType: 'waitMetrics', query: '{}', measures: ['unaccounted_ms'] },
      ],
      range: { from: dateTime(1795624297000), to: dateTime(1795624897000), raw: { from: 'now-5m', to: 'now' } },
      scopedVars: {},
      intervalMs: 1000,
      maxDataPoints: 100,
    } as unknown as DataQueryRequest<TracegapQuery>;

    await lastValueFrom(ds.query(request));

    expect(requests).toHaveLength(1);
    expect(requests[0].url).toBe('/api/ds/query?ds_type=tracegap-correlator-datasource');
    expect(requests[0].data).toMatchObject({
      from: '1795624297000',
      to: '1795624897000',
      queries: [
        {
          refId: 'A',
          queryType: 'search',
          query: '{resource.service.name="widget-service"}',
          limit: 5,
          datasource: { type: 'tracegap-correlator-datasource', uid: 'tracegap-uid' },
        },
        { refId: 'B', queryType: 'waitMetrics', query: '{}', measures: ['unaccounted_ms'] },
      ],
    });
  });
});

describe('filterQuery', () => {
  const ds = newDataSource();
  it.each<[string, boolean, TracegapQuery]>([
    ['trace with an id', true, { refId: 'A', queryType: 'trace', traceId: '0af7651916cd43dd8448eb211c80319c' }],
    ['trace with a variable', true, { refId: 'A', queryType: 'trace', traceId: '$traceId' }],
    ['trace without an id', false, { refId: 'A', queryType: 'trace' }],
    ['trace with a blank id', false, { refId: 'A', queryType: 'trace', traceId: '   ' }],
    ['stored query without a type (trace)', false, { refId: 'A' } as TracegapQuery],
    ['hidden trace query', false, { refId: 'A', queryType: 'trace', traceId: 'abc', hide: true }],
    ['search without TraceQL', true, { refId: 'A', queryType: 'search' }],
    ['hidden search', false, { refId: 'A', queryType: 'search', query: '{}', hide: true }],
    ['wait metrics', true, { refId: 'A', queryType: 'waitMetrics', query: '{}', groupBy: 'service' }],
    ['annotations', true, { refId: 'A', queryType: 'annotations', query: '{duration > 1s}' }],
  ])('%s -> %p', (_, expected, query) => {
    expect(ds.filterQuery(query)).toBe(expected);
  });
});

describe('defaults', () => {
  it('starts new queries as trace queries', () => {
    expect(newDataSource().getDefaultQuery(CoreApp.Explore)).toEqual({ queryType: 'trace' });
  });

  it('serves annotation queries through the standard editor, starting as queryType annotations', () => {
    const ds = newDataSource();
    expect(ds.annotations).toBeDefined();
    // No custom editor: Grafana's standard annotation editor renders our QueryEditor.
    expect(ds.annotations?.QueryEditor).toBeUndefined();
    expect(ds.annotations?.getDefaultQuery?.()).toEqual({ queryType: 'annotations' });
  });

  it('keeps its settings for the query editor', () => {
    expect(newDataSource({ minGapMs: 250 }).settings).toEqual({ minGapMs: 250 });
  });
});

describe('metricFindQuery', () => {
  const range = { from: dateTime(1795624297000), to: dateTime(1795624897000), raw: { from: 'now-5m', to: 'now' } };

  it('services() lists Tempo service names from the services resource', async () => {
    const requests = fakeBackendSrv(['dashboard-service', 'widget-service']);
    const values = await newDataSource().metricFindQuery('services()', { range });
    expect(values).toEqual([
      { text: 'dashboard-service', value: 'dashboard-service' },
      { text: 'widget-service', value: 'widget-service' },
    ]);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      method: 'GET',
      url: '/api/datasources/uid/tracegap-uid/resources/services',
      params: { start: 1795624297000, end: 1795624897000 },
    });
  });

  it('labels() lists Loki label names from the labels resource', async () => {
    const requests = fakeBackendSrv(['service_name']);
    const values = await newDataSource().metricFindQuery(' labels() ');
    expect(values).toEqual([{ text: 'service_name', value: 'service_name' }]);
    expect(requests[0]).toMatchObject({ method: 'GET', url: '/api/datasources/uid/tracegap-uid/resources/labels' });
    expect(requests[0].params).toBeUndefined();
  });

  it('accepts the query as an object, as newer variable editors store it', async () => {
    const requests = fakeBackendSrv(['widget-service']);
    await newDataSource().metricFindQuery({ query: 'services()' });
    expect(requests[0].url).toBe('/api/datasources/uid/tracegap-uid/resources/services');
  });

  it('treats an empty answer as no values', async () => {
    fakeBackendSrv(null);
    await expect(newDataSource().metricFindQuery('labels()')).resolves.toEqual([]);
  });

  it('rejects an unknown query, naming the ones it knows, without calling the backend', async () => {
    const requests = fakeBackendSrv([]);
    await expect(newDataSource().metricFindQuery('label_values(service_name)')).rejects.toThrow(
      'Unknown variable query "label_values(service_name)": use services() or labels()'
    );
    expect(requests).toHaveLength(0);
  });
});

describe('getQueryDisplayText', () => {
  const ds = newDataSource();
  it.each<[TracegapQuery, string]>([
    [{ refId: 'A', queryType: 'trace', traceId: 'abc' }, 'Trace abc'],
    [{ refId: 'A', queryType: 'trace' }, 'Trace (no trace ID)'],
    [{ refId: 'A', queryType: 'search', query: '{duration > 1s}', limit: 5 }, 'Search {duration > 1s} (limit 5)'],
    [{ refId: 'A', queryType: 'search' }, 'Search {} (limit 20)'],
    [{ refId: 'A', queryType: 'waitMetrics' }, 'Wait metrics {} by service'],
    [
      { refId: 'A', queryType: 'waitMetrics', query: '{}', groupBy: 'service_operation' },
      'Wait metrics {} by service and operation',
    ],
    [{ refId: 'A', queryType: 'waitMetrics', measures: ['wait_ms'] }, 'Wait metrics {} by service (wait_ms)'],
    [
      { refId: 'A', queryType: 'waitMetrics', measures: ['retries', 'unaccounted_ms'] },
      'Wait metrics {} by service (unaccounted_ms, retries)',
    ],
    [{ refId: 'A', queryType: 'waitMetrics', measures: [] }, 'Wait metrics {} by service'],
    // The backend also takes a comma-separated string, as typed into an alert rule's JSON.
    [
      { refId: 'A', queryType: 'waitMetrics', measures: 'retries, wait_ms' as unknown as Measure[] },
      'Wait metrics {} by service (wait_ms, retries)',
    ],
    [{ refId: 'A', queryType: 'annotations', query: '{status=error}' }, 'Annotations {status=error}'],
  ])('%j -> %s', (query, expected) => {
    expect(ds.getQueryDisplayText(query)).toBe(expected);
  });
});
