// Builders shared by the unit tests; not part of the plugin bundle.
import { DataSourceInstanceSettings, DataSourcePluginMeta, DataSourceSettings } from '@grafana/data';

import { DataSource } from './datasource';
import { TracegapOptions, TracegapSecureJsonData } from './types';

/** A data source instance as Grafana would build it from saved settings. */
export function newDataSource(jsonData: TracegapOptions = {}): DataSource {
  // Cast: the deprecated numeric id is left out on purpose.
  return new DataSource({
    uid: 'tracegap-uid',
    type: 'tracegap-correlator-datasource',
    name: 'Tracegap',
    access: 'proxy',
    jsonData,
    meta: {} as DataSourcePluginMeta,
    readOnly: false,
  } as DataSourceInstanceSettings<TracegapOptions>);
}

/** Saved settings as the config editor receives them. */
export function newSettings(
  overrides: Partial<DataSourceSettings<TracegapOptions, TracegapSecureJsonData>> = {}
): DataSourceSettings<TracegapOptions, TracegapSecureJsonData> {
  // Cast: the deprecated `database` field is left out on purpose.
  return {
    id: 7,
    uid: 'tracegap-uid',
    orgId: 1,
    name: 'Tracegap',
    type: 'tracegap-correlator-datasource',
    typeName: 'Tracegap',
    typeLogoUrl: '',
    access: 'proxy',
    url: '',
    user: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    withCredentials: false,
    readOnly: false,
    jsonData: {},
    secureJsonFields: {},
    ...overrides,
  } as DataSourceSettings<TracegapOptions, TracegapSecureJsonData>;
}
