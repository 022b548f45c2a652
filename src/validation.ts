// Checks shared by the config and query editors. Each returns a message that
// says what is wrong and what to enter instead, or undefined when the value is
// fine. Empty values are fine everywhere here: the backend applies a default.

/** Checks that a URL is absolute http(s), the only schemes the backend's HTTP client speaks. */
export function validateUrl(value: string | undefined, example: string): string | undefined {
  if (!value) {
    return undefined;
  }
  let url: URL | undefined;
  try {
    url = new URL(value.trim());
  } catch {
    // Not a URL at all; reported below like any other scheme.
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    return `Enter a full URL starting with http:// or https://, e.g. ${example}`;
  }
  if (url.username || url.password) {
    return 'Remove the user and password from the URL and use basic authentication below, which stores the password encrypted';
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

/** Checks that a retry pattern compiles as a regular expression the Go backend accepts and is selective. */
export function validateRegex(value: string | undefined): string | undefined {
  if (!value) {
    return undefined;
  }
  if (unsupportedInRE2.test(value)) {
    return 'Look-around and back-references are not supported (the pattern runs as a Go RE2 regular expression)';
  }
  let re: RegExp;
  try {
    re = new RegExp(toJavaScriptSyntax(value), 'i');
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return `Not a valid regular expression: ${reason}`;
  }
  if (re.test('')) {
    // It would match every log line, and every line would count as a retry.
    return 'This pattern matches every log line (it matches empty text); make it match only retry messages';
  }
  return undefined;
}

/** The accepted range of one numeric setting. */
export interface NumberRange {
  min: number;
  max?: number;
  unit?: string;
}

/** Checks that a number, when set, is a whole number within range. */
export function validateWholeNumber(value: number | undefined, { min, max, unit }: NumberRange): string | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (Number.isInteger(value) && value >= min && (max === undefined || value <= max)) {
    return undefined;
  }
  const range = max === undefined ? `of ${min} or more` : `from ${min} to ${max}`;
  return `Enter a whole number ${range}${unit ? ` (${unit})` : ''}, or leave empty for the default`;
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

// Tempo and Loki (dskit) accept tenant ids of letters, digits and !-_.*'(),
// up to 150 characters; "a|b" queries several tenants at once.
const tenantPart = /^[A-Za-z0-9!\-_.*'()]{1,150}$/;

/** Checks a tenant id (or several joined by "|") the way Tempo and Loki do. */
export function validateTenantId(value: string | undefined): string | undefined {
  if (!value) {
    return undefined;
  }
  for (const part of value.split('|')) {
    if (part === '') {
      return 'Remove the extra "|": every tenant between separators needs a name';
    }
    if (part.length > 150) {
      return `A tenant ID is at most 150 characters (this one has ${part.length})`;
    }
    if (part === '.' || part === '..' || !tenantPart.test(part)) {
      return "Use only letters, digits and ! - _ . * ' ( ) in a tenant ID; separate several tenants with |";
    }
  }
  return undefined;
}

/** Checks that a newly entered CA certificate is PEM text. */
export function validatePemCertificate(value: string | undefined): string | undefined {
  if (!value) {
    return undefined;
  }
  if (!/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(value)) {
    return 'Paste the CA certificate in PEM form, including the BEGIN CERTIFICATE and END CERTIFICATE lines';
  }
  return undefined;
}
