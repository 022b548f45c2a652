import React from 'react';
import { Button, Field, IconButton, Input, SecretInput, Stack } from '@grafana/ui';

import { endpointSelectors } from '../selectors';
import { Backend, HeaderNameKey, HeaderValueKey, TracegapOptions, TracegapSecureJsonData } from '../types';
import { Settings } from './options';

// Custom HTTP headers follow Grafana's convention (httpHeaderName<n> in
// jsonData, httpHeaderValue<n> in secureJsonData) with one set per upstream:
// tempoHttpHeaderName1 / tempoHttpHeaderValue1, lokiHttpHeaderName1 / … . The
// value is a secret (often a credential): it is only ever written, and a saved
// one shows as "configured" with a Reset.

const nameKey = (backend: Backend, n: number) => `${backend}HttpHeaderName${n}` as HeaderNameKey;
const valueKey = (backend: Backend, n: number) => `${backend}HttpHeaderValue${n}` as HeaderValueKey;

/** The numbers of the headers configured for one upstream, in order. */
export function headerNumbers(jsonData: TracegapOptions, backend: Backend): number[] {
  const prefix = `${backend}HttpHeaderName`;
  return Object.keys(jsonData)
    .filter((k) => k.startsWith(prefix) && /^[1-9]\d*$/.test(k.slice(prefix.length)))
    .filter((k) => jsonData[k as HeaderNameKey] !== undefined)
    .map((k) => Number(k.slice(prefix.length)))
    .sort((a, b) => a - b);
}

/**
 * Numbers are never reused for another header while a value may be stored
 * under them: a stored secret cannot be read back, so it cannot be moved to
 * renumber the rest. A new header takes the lowest free number.
 */
function nextNumber(used: number[]): number {
  let n = 1;
  while (used.includes(n)) {
    n++;
  }
  return n;
}

interface Props {
  backend: Backend;
  options: Settings;
  onOptionsChange: (options: Settings) => void;
}

/** Custom HTTP headers sent with every request to one upstream (Tempo or Loki). */
export function HttpHeadersSettings({ backend, options, onOptionsChange }: Props) {
  const S = endpointSelectors(backend).headers;
  const { jsonData } = options;
  const secureJsonFields = options.secureJsonFields ?? {};
  const secureJsonData: TracegapSecureJsonData = options.secureJsonData ?? {};
  const numbers = headerNumbers(jsonData, backend);

  const setName = (n: number, name: string | undefined) =>
    onOptionsChange({ ...options, jsonData: { ...jsonData, [nameKey(backend, n)]: name } });
  const setValue = (n: number, value: string) =>
    onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, [valueKey(backend, n)]: value } });
  const resetValue = (n: number, patch: Partial<Settings> = {}) =>
    onOptionsChange({
      ...options,
      ...patch,
      secureJsonFields: { ...secureJsonFields, [valueKey(backend, n)]: false },
      secureJsonData: { ...secureJsonData, [valueKey(backend, n)]: '' },
    });
  // Removing a header drops its name and clears its stored value, so no
  // secret stays behind under a number a later header may take.
  const remove = (n: number) => resetValue(n, { jsonData: { ...jsonData, [nameKey(backend, n)]: undefined } });

  return (
    <Field
      label={S.section}
      description="Sent with every request to this upstream, e.g. a gateway's API key. Values are stored encrypted and never shown again."
    >
      <Stack direction="column" gap={1}>
        {numbers.map((n) => {
          const name = S.name(n);
          const value = S.value(n);
          return (
            <Stack key={n} direction="row" gap={1} alignItems="center">
              <Input
                id={name.id}
                aria-label={name.label}
                value={jsonData[nameKey(backend, n)] ?? ''}
                placeholder="Header name, e.g. X-Api-Key"
                width={30}
                onChange={(e) => setName(n, e.currentTarget.value)}
              />
              <SecretInput
                id={value.id}
                aria-label={value.label}
                isConfigured={!!secureJsonFields[valueKey(backend, n)]}
                value={secureJsonData[valueKey(backend, n)] ?? ''}
                placeholder="Value"
                width={30}
                autoComplete="off"
                onChange={(e) => setValue(n, e.currentTarget.value)}
                onReset={() => resetValue(n)}
              />
              <IconButton name="trash-alt" tooltip={S.remove(n)} aria-label={S.remove(n)} onClick={() => remove(n)} />
            </Stack>
          );
        })}
        <div>
          <Button variant="secondary" size="sm" icon="plus" onClick={() => setName(nextNumber(numbers), '')}>
            {S.add}
          </Button>
        </div>
      </Stack>
    </Field>
  );
}
