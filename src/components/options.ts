import { DataSourceSettings } from '@grafana/data';

import { TracegapOptions, TracegapSecureJsonData } from '../types';

/** The settings object the config editor edits. */
export type Settings = DataSourceSettings<TracegapOptions, TracegapSecureJsonData>;

/** Settings with some jsonData fields replaced; undefined means "use the default". */
export function withJsonData(options: Settings, patch: Partial<TracegapOptions>): Settings {
  return { ...options, jsonData: { ...options.jsonData, ...patch } };
}

/**
 * A patch of one jsonData key. A computed key ({ [key]: value }) widens to a
 * string index, which the header keys' template index signature rejects;
 * typing the key here keeps the value checked against the key's own type.
 */
export function jsonPatch<K extends keyof TracegapOptions>(
  key: K,
  value: TracegapOptions[K]
): Partial<TracegapOptions> {
  const patch: Partial<TracegapOptions> = {};
  patch[key] = value;
  return patch;
}

/** Settings with a new secret value, which Grafana encrypts on save. */
export function withSecret(options: Settings, key: keyof TracegapSecureJsonData, value: string): Settings {
  return { ...options, secureJsonData: { ...options.secureJsonData, [key]: value } };
}

/** Settings with a stored secret cleared, so the user can enter a new one. */
export function withSecretReset(options: Settings, key: keyof TracegapSecureJsonData): Settings {
  return {
    ...options,
    secureJsonFields: { ...options.secureJsonFields, [key]: false },
    secureJsonData: { ...options.secureJsonData, [key]: '' },
  };
}

/** Parses a number input: empty means unset (the default applies). */
export function parseNumberInput(raw: string): number | undefined {
  return raw.trim() === '' ? undefined : Number(raw);
}
