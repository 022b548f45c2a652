import React from 'react';
import { SelectableValue } from '@grafana/data';
import { Field, FieldSet, Input, RadioButtonGroup, SecretInput, SecretTextArea, Switch } from '@grafana/ui';

import { endpointSelectors } from '../selectors';
import { AuthMethod, Backend, DEFAULT_SETTINGS } from '../types';
import { validatePemCertificate, validateUrl } from '../validation';
import { HttpHeadersSettings } from './HttpHeadersSettings';
import { jsonPatch, Settings, withJsonData, withSecret, withSecretReset } from './options';

// The settings keys of each backend; spelled out (not built from strings) so
// TypeScript checks them against TracegapOptions and TracegapSecureJsonData.
const keys = {
  tempo: {
    url: 'tempoUrl',
    auth: 'tempoAuth',
    user: 'tempoUser',
    tlsSkipVerify: 'tempoTlsSkipVerify',
    password: 'tempoPassword',
    token: 'tempoToken',
    caCert: 'tempoTlsCACert',
  },
  loki: {
    url: 'lokiUrl',
    auth: 'lokiAuth',
    user: 'lokiUser',
    tlsSkipVerify: 'lokiTlsSkipVerify',
    password: 'lokiPassword',
    token: 'lokiToken',
    caCert: 'lokiTlsCACert',
  },
} as const;

const examples: Record<Backend, { url: string; description: string }> = {
  tempo: {
    url: 'http://tempo:3200',
    description: "Tempo's HTTP API, where traces are fetched by ID and searched with TraceQL.",
  },
  loki: {
    url: 'http://loki:3100',
    description: "Loki's HTTP API, where each trace's logs are fetched to find its waits and retries.",
  },
};

const authOptions: Array<SelectableValue<AuthMethod>> = [
  { label: 'No authentication', value: 'none' },
  { label: 'Basic authentication', value: 'basic' },
  { label: 'Bearer token', value: 'bearer' },
];

interface Props {
  backend: Backend;
  options: Settings;
  onOptionsChange: (options: Settings) => void;
}

/** Connection settings of Tempo or Loki: URL, authentication and TLS. */
export function EndpointSettings({ backend, options, onOptionsChange }: Props) {
  const k = keys[backend];
  const S = endpointSelectors(backend);
  const { jsonData, secureJsonFields } = options;
  const secureJsonData = options.secureJsonData ?? {};
  const auth = jsonData[k.auth] ?? DEFAULT_SETTINGS.auth;
  const urlError = validateUrl(jsonData[k.url], examples[backend].url);
  // Only a certificate typed in this session can be checked: a saved one is never sent back.
  const caCertError = validatePemCertificate(secureJsonData[k.caCert]);

  return (
    <FieldSet label={S.section}>
      <Field
        label={S.url.label}
        description={examples[backend].description}
        required
        invalid={!!urlError}
        error={urlError}
      >
        <Input
          id={S.url.id}
          value={jsonData[k.url] ?? ''}
          placeholder={examples[backend].url}
          width={60}
          onChange={(e) => onOptionsChange(withJsonData(options, jsonPatch(k.url, e.currentTarget.value)))}
        />
      </Field>

      <Field label={S.auth.label} description="How the plugin's backend signs in; credentials are stored encrypted.">
        <RadioButtonGroup<AuthMethod>
          aria-label={S.auth.label}
          options={authOptions}
          value={auth}
          onChange={(value) => onOptionsChange(withJsonData(options, jsonPatch(k.auth, value)))}
        />
      </Field>

      {auth === 'basic' && (
        <>
          <Field label={S.user.label}>
            <Input
              id={S.user.id}
              value={jsonData[k.user] ?? ''}
              width={40}
              autoComplete="off"
              onChange={(e) => onOptionsChange(withJsonData(options, jsonPatch(k.user, e.currentTarget.value)))}
            />
          </Field>
          <Field label={S.password.label}>
            <SecretInput
              id={S.password.id}
              isConfigured={!!secureJsonFields?.[k.password]}
              value={secureJsonData[k.password] ?? ''}
              width={40}
              autoComplete="new-password"
              onChange={(e) => onOptionsChange(withSecret(options, k.password, e.currentTarget.value))}
              onReset={() => onOptionsChange(withSecretReset(options, k.password))}
            />
          </Field>
        </>
      )}

      {auth === 'bearer' && (
        <Field label={S.token.label} description="Sent as Authorization: Bearer <token>.">
          <SecretInput
            id={S.token.id}
            isConfigured={!!secureJsonFields?.[k.token]}
            value={secureJsonData[k.token] ?? ''}
            width={60}
            autoComplete="off"
            onChange={(e) => onOptionsChange(withSecret(options, k.token, e.currentTarget.value))}
            onReset={() => onOptionsChange(withSecretReset(options, k.token))}
          />
        </Field>
      )}

      <Field
        label={S.tlsSkipVerify.label}
        description="Accept any certificate. Only for testing: it makes the connection open to interception."
      >
        <Switch
          id={S.tlsSkipVerify.id}
          value={!!jsonData[k.tlsSkipVerify]}
          onChange={(e) => onOptionsChange(withJsonData(options, jsonPatch(k.tlsSkipVerify, e.currentTarget.checked)))}
        />
      </Field>

      <Field
        label={S.caCert.label}
        description="PEM certificate of the authority that signed the server's certificate, when it is not publicly trusted."
        invalid={!!caCertError}
        error={caCertError}
      >
        <SecretTextArea
          id={S.caCert.id}
          isConfigured={!!secureJsonFields?.[k.caCert]}
          value={secureJsonData[k.caCert] ?? ''}
          cols={60}
          rows={4}
          placeholder="-----BEGIN CERTIFICATE-----"
          onChange={(e) => onOptionsChange(withSecret(options, k.caCert, e.currentTarget.value))}
          onReset={() => onOptionsChange(withSecretReset(options, k.caCert))}
        />
      </Field>

      <HttpHeadersSettings backend={backend} options={options} onOptionsChange={onOptionsChange} />
    </FieldSet>
  );
}
