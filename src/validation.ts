// Checks shared by the config and query editors. Each returns a message that
// says what is wrong and what to enter instead, or undefined when the value is
// fine. Empty values are fine everywhere here: the backend applies a default.

/** Checks that a URL is absolute http(s), the only schemes the backend's HTTP client speaks. */
export function validateUrl(value: string | undefined, example: string): string | undefined {
  if (!value) {
    return undefined;
  }
  let protocol = '';
  try {
    protocol = new URL(value.trim()).protocol;
  } catch {
    // Not a URL at all; reported below like any other scheme.
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    return `Enter a full URL starting with http:// or https://, e.g. ${example}`;
  }
  return undefined;
}

// Go's RE2 accepts inline flags ((?i), (?i:...)) and (?P<name>...) groups,
// which this JavaScript engine rejects; rewrite them so the check here does not
// report a pattern Go accepts.
function toJavaScriptSyntax(re2: string): string {
  return re2
    .replace(/\(\?[imsU]+\)/g, '')
    .replace(/\(\?[imsU-]+:/g, '(?:')
    .replace(/\(\?P</g, '(?<');
}

// RE2 (the backend's engine) has no look-around and no back-references, and
// JavaScript has both: without this check a pattern would pass here and then
// fail on every query.
const unsupportedInRE2 = /\(\?<?[=!]|\\[1-9]|\\k</;

/** Checks that a retry pattern compiles as a regular expression the Go backend accepts. */
export function validateRegex(value: string | undefined): string | undefined {
  if (!value) {
    return undefined;
  }
  if (unsupportedInRE2.test(value)) {
    return 'Look-around and back-references are not supported (the pattern runs as a Go RE2 regular expression)';
  }
  try {
    new RegExp(toJavaScriptSyntax(value), 'i');
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return `Not a valid regular expression: ${reason}`;
  }
  return undefined;
}

/** Checks that a number, when set, is a positive whole number. */
export function validatePositiveInteger(value: number | undefined): string | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (!Number.isInteger(value) || value <= 0) {
    return 'Enter a whole number greater than 0, or leave empty for the default';
  }
  return undefined;
}

/** Checks that a number, when set, is zero or a positive whole number. */
export function validateNonNegativeInteger(value: number | undefined): string | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (!Number.isInteger(value) || value < 0) {
    return 'Enter a whole number of 0 or more, or leave empty for the default';
  }
  return undefined;
}

/** Checks that a log selector looks like a LogQL stream selector. */
export function validateLogSelector(value: string | undefined): string | undefined {
  if (!value) {
    return undefined;
  }
  const trimmed = value.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) {
    return 'Enter a LogQL stream selector in braces, e.g. {service_name=~".+"}';
  }
  return undefined;
}

// A Grafana template variable in any of its three syntaxes: $name, ${name} or
// ${name:format}, and the deprecated [[name]].
const templateVariable = /^(\$\w+|\$\{\w+(:\w+)?\}|\[\[\w+\]\])$/;

// Tempo accepts up to 32 hex characters and left-pads shorter ids (64-bit ids
// from older tracers are 16 characters).
const hexTraceId = /^[0-9a-fA-F]{1,32}$/;

/** Checks that a trace id is hex (up to 32 characters) or a template variable. */
export function validateTraceId(value: string | undefined): string | undefined {
  if (!value) {
    return undefined;
  }
  const trimmed = value.trim();
  if (hexTraceId.test(trimmed) || templateVariable.test(trimmed)) {
    return undefined;
  }
  return 'A trace ID is up to 32 hex characters (e.g. 0af7651916cd43dd8448eb211c80319c) or a variable such as $traceId';
}

// Grafana's time shift syntax for trace-to-logs links: an optional sign, a
// number and a unit, e.g. -5m or 1h.
const timeShift = /^-?\d+(\.\d+)?(ms|s|m|h|d|w)$/;

/** Checks a trace-to-logs time shift such as -5m. */
export function validateTimeShift(value: string | undefined): string | undefined {
  if (!value) {
    return undefined;
  }
  if (!timeShift.test(value.trim())) {
    return 'Enter a duration with a unit, e.g. -5m, 30s or 1h';
  }
  return undefined;
}
