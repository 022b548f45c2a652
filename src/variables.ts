import { CustomVariableSupport, DataQueryRequest, DataQueryResponse } from '@grafana/data';
import { from, map, Observable } from 'rxjs';

import { VariableQueryEditor } from './components/VariableQueryEditor';
import type { DataSource } from './datasource';
import { DEFAULT_VARIABLE_QUERY, TracegapVariableQuery } from './types';

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

/** Template variables of the data source: service names from Tempo, label names from Loki. */
export class TracegapVariableSupport extends CustomVariableSupport<DataSource, TracegapVariableQuery> {
  editor = VariableQueryEditor;

  constructor(private readonly datasource: DataSource) {
    super();
  }

  query(request: DataQueryRequest<TracegapVariableQuery>): Observable<DataQueryResponse> {
    const q = toVariableQuery(request.targets[0]);
    return from(this.datasource.metricFindQuery(q, { range: request.range })).pipe(map((data) => ({ data })));
  }
}
