import { CustomVariableSupport, DataQueryRequest, DataQueryResponse } from '@grafana/data';
import { from, map, Observable } from 'rxjs';

import { VariableQueryEditor } from './components/VariableQueryEditor';
import type { DataSource } from './datasource';
import { toVariableQuery, TracegapVariableQuery } from './types';

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
