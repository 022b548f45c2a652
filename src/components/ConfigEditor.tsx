import React from 'react';
import { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { config } from '@grafana/runtime';
import { Field, FieldSet, Input, SecureSocksProxySettings, Text, TextLink } from '@grafana/ui';

import { docUrl } from '../docs';

import { ConfigEditorSelectors as S } from '../selectors';
import { TracegapOptions, TracegapSecureJsonData } from '../types';
import { validateTenantId } from '../validation';
import { CorrelationSettings } from './CorrelationSettings';
import { EndpointSettings } from './EndpointSettings';
import { withJsonData } from './options';
import { TraceToLogsSettings } from './TraceToLogsSettings';

type Props = DataSourcePluginOptionsEditorProps<TracegapOptions, TracegapSecureJsonData>;

/** The data source settings page: where Tempo and Loki are, and how their data is joined. */
export function ConfigEditor({ options, onOptionsChange }: Props) {
  const tenantError = validateTenantId(options.jsonData.tenantId);
  return (
    <>
      <Text element="p" color="secondary">
        Where Tempo and Loki are, and how a trace&apos;s logs are found and read. Every setting is described in the{' '}
        <TextLink href={docUrl('configuration')} external>
          {S.docs.link}
        </TextLink>
        .
      </Text>

      <EndpointSettings backend="tempo" options={options} onOptionsChange={onOptionsChange} />
      <EndpointSettings backend="loki" options={options} onOptionsChange={onOptionsChange} />

      <FieldSet label="Tenant">
        <Field
          label={S.tenantId.label}
          description="Sent as X-Scope-OrgID to both Tempo and Loki; join several with | to query them together. Leave empty when Tempo and Loki run without multi-tenancy."
          invalid={!!tenantError}
          error={tenantError}
        >
          <Input
            id={S.tenantId.id}
            value={options.jsonData.tenantId ?? ''}
            placeholder="e.g. tenant-a"
            width={40}
            onChange={(e) => onOptionsChange(withJsonData(options, { tenantId: e.currentTarget.value }))}
          />
        </Field>
      </FieldSet>

      {/* Grafana's own switch (jsonData.enableSecureSocksProxy, which the SDK's HTTP client reads for both
          upstreams), offered only where the Grafana server runs the proxy. */}
      {config.secureSocksDSProxyEnabled && (
        <SecureSocksProxySettings options={options} onOptionsChange={onOptionsChange} />
      )}

      <CorrelationSettings options={options} onOptionsChange={onOptionsChange} />
      <TraceToLogsSettings options={options} onOptionsChange={onOptionsChange} />
    </>
  );
}
