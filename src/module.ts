import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { DataSource } from './datasource';
import { TracegapOptions, TracegapQuery, TracegapSecureJsonData } from './types';

/** The plugin Grafana loads: the data source class and its two editors. */
export const plugin = new DataSourcePlugin<DataSource, TracegapQuery, TracegapOptions, TracegapSecureJsonData>(
  DataSource
)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
