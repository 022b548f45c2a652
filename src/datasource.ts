import {
  AnnotationSupport,
  CoreApp,
  DataSourceInstanceSettings,
  LegacyMetricFindQueryOptions,
  MetricFindValue,
  ScopedVars,
} from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';

import {
  DEFAULT_ANNOTATION_QUERY,
  DEFAULT_GROUP_BY,
  DEFAULT_LIMIT,
  DEFAULT_QUERY,
  DEFAULT_QUERY_TYPE,
  pickedMeasures,
  TracegapOptions,
  TracegapQuery,
  TracegapVariableQuery,
  VARIABLE_QUERIES,
} from './types';
import { TracegapVariableSupport } from './variables';

export { VARIABLE_QUERIES };

/** The Tracegap data source: queries run in the Go backend; this class prepares them. */
export class DataSource extends DataSourceWithBackend<TracegapQuery, TracegapOptions> {
  /** The instance's settings, used by the query editor for placeholders. */
  readonly settings: TracegapOptions;

  /**
   * Annotation queries use the standard editor (our QueryEditor) and start as
   * queryType 'annotations', whose frames Grafana turns into events.
   */
  annotations: AnnotationSupport<TracegapQuery> = {
    getDefaultQuery: () => DEFAULT_ANNOTATION_QUERY,
  };

  constructor(instanceSettings: DataSourceInstanceSettings<TracegapOptions>) {
    super(instanceSettings);
    this.settings = instanceSettings.jsonData ?? {};
    // Template variables get their own editor (choose services or labels,
    // with a preview); it still stores the services()/labels() text, so
    // variables saved or provisioned before keep working.
    this.variables = new TracegapVariableSupport(this);
  }

  getDefaultQuery(_: CoreApp): Partial<TracegapQuery> {
    return DEFAULT_QUERY;
  }

  applyTemplateVariables(query: TracegapQuery, scopedVars: ScopedVars): TracegapQuery {
    const templateSrv = getTemplateSrv();
    const replace = (value: string | undefined) =>
      value === undefined ? undefined : templateSrv.replace(value, scopedVars);
    return {
      ...query,
      // A query saved without a type is shown as a trace query; send it as one
      // (the backend rejects a query without a type).
      queryType: query.queryType ?? DEFAULT_QUERY_TYPE,
      // Trace ids are pasted from logs and URLs; stray spaces would make Tempo reject them.
      traceId: replace(query.traceId)?.trim(),
      logSelector: replace(query.logSelector),
      query: replace(query.query),
    };
  }

  filterQuery(query: TracegapQuery): boolean {
    if (query.hide) {
      return false;
    }
    if ((query.queryType ?? DEFAULT_QUERY_TYPE) === 'trace') {
      // A trace query without an id would only come back as an error; skip it
      // quietly, as while the user is still typing one.
      return !!query.traceId?.trim();
    }
    return true;
  }

  async metricFindQuery(
    query: string | Partial<TracegapVariableQuery>,
    options?: LegacyMetricFindQueryOptions
  ): Promise<MetricFindValue[]> {
    const text = (typeof query === 'string' ? query : (query?.query ?? '')).trim();
    const known = VARIABLE_QUERIES[text];
    if (!known) {
      const supported = Object.keys(VARIABLE_QUERIES).join(' or ');
      throw new Error(`Unknown variable query "${text}": use ${supported}`);
    }
    // The dashboard's time range bounds the lookup (Tempo and Loki only look at
    // recent data when given none); the backend reads Unix milliseconds.
    const params = options?.range
      ? { start: options.range.from.valueOf(), end: options.range.to.valueOf() }
      : undefined;
    const names = await this.getResource<string[]>(known.resource, params);
    return (names ?? []).map((text) => ({ text, value: text }));
  }

  getQueryDisplayText(query: TracegapQuery): string {
    switch (query.queryType ?? DEFAULT_QUERY_TYPE) {
      case 'trace':
        return `Trace ${query.traceId || '(no trace ID)'}`;
      case 'search':
        return `Search ${query.query || '{}'} (limit ${query.limit ?? DEFAULT_LIMIT})`;
      case 'waitMetrics': {
        const measures = pickedMeasures(query);
        const by = (query.groupBy ?? DEFAULT_GROUP_BY).replace('_', ' and ');
        return `Wait metrics ${query.query || '{}'} by ${by}${measures.length > 0 ? ` (${measures.join(', ')})` : ''}`;
      }
      case 'annotations':
        return `Annotations ${query.query || '{}'}`;
      default:
        return `Unknown query type ${query.queryType}`;
    }
  }
}
