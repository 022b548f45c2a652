import {
  validateLogSelector,
  validatePemCertificate,
  validateRegex,
  validateTenantId,
  validateTimeShift,
  validateTraceId,
  validateUrl,
  validateWholeNumber,
} from './validation';

const URL_ERROR = 'Enter a full URL starting with http:// or https://, e.g. http://tempo:3200';

describe('validateUrl', () => {
  it.each([
    ['', undefined],
    ['http://tempo:3200', undefined],
    ['https://tempo.example.com/prefix', undefined],
    [' http://loki:3100 ', undefined],
    ['tempo:3200', URL_ERROR],
    ['localhost:3200', URL_ERROR],
    ['ftp://tempo', URL_ERROR],
    ['http://', URL_ERROR],
    ['not a url', URL_ERROR],
    [
      'http://admin:secret@tempo:3200',
      'Remove the user and password from the URL and use basic authentication below, which stores the password encrypted',
    ],
  ])('%j -> %j', (value, expected) => {
    expect(validateUrl(value, 'http://tempo:3200')).toBe(expected);
  });
});

describe('validateRegex', () => {
  it.each([
    ['', undefined],
    ['retrying|will retry|attempt \\d+ failed', undefined],
    // Go RE2 syntax that JavaScript spells differently must not be reported.
    ['(?i)retry', undefined],
    ['(?i:retry)ing', undefined],
    ['(?P<n>\\d+) attempts', undefined],
  ])('accepts %j', (value, expected) => {
    expect(validateRegex(value)).toBe(expected);
  });

  it('reports a pattern that does not compile, with the reason', () => {
    expect(validateRegex('attempt (\\d+ failed')).toMatch(
      /^Not a valid regular expression: .*(unterminated|Unterminated)/
    );
  });

  it.each(['retry|', '.*', '(retry)?'])('reports %j, which would mark every line as a retry', (value) => {
    expect(validateRegex(value)).toBe(
      'This pattern matches every log line (it matches empty text); make it match only retry messages'
    );
  });

  it.each(['retry(?=ing)', 'retry(?!ing)', '(?<=will )retry', '(a)\\1'])(
    'reports %j, which compiles in JavaScript but not in Go RE2',
    (value) => {
      expect(validateRegex(value)).toBe(
        'Look-around and back-references are not supported (the pattern runs as a Go RE2 regular expression)'
      );
    }
  );
});

describe('validateWholeNumber', () => {
  const seconds = { min: 1, max: 3600, unit: 'seconds' };
  const IN_SECONDS = 'Enter a whole number from 1 to 3600 (seconds), or leave empty for the default';
  it.each([
    [undefined, undefined],
    [1, undefined],
    [3600, undefined],
    [0, IN_SECONDS],
    [3601, IN_SECONDS],
    [-5, IN_SECONDS],
    [1.5, IN_SECONDS],
    [NaN, IN_SECONDS],
  ])('%p -> %j', (value, expected) => {
    expect(validateWholeNumber(value, seconds)).toBe(expected);
  });

  it('words an open range without a unit', () => {
    expect(validateWholeNumber(0, { min: 1 })).toBe(
      'Enter a whole number of 1 or more, or leave empty for the default'
    );
    expect(validateWholeNumber(1e9, { min: 1 })).toBeUndefined();
  });
});

describe('validateLogSelector', () => {
  it.each([
    ['', undefined],
    ['{service_name=~".+"}', undefined],
    [' {job="api"} ', undefined],
    ['service_name="api"', 'Enter a LogQL stream selector in braces, e.g. {service_name=~".+"}'],
    ['{job="api"} |= "x"', 'Enter a LogQL stream selector in braces, e.g. {service_name=~".+"}'],
  ])('%j -> %j', (value, expected) => {
    expect(validateLogSelector(value)).toBe(expected);
  });
});

describe('validateTraceId', () => {
  const ERROR =
    'A trace ID is up to 32 hex characters (e.g. 0af7651916cd43dd8448eb211c80319c) or a variable such as $traceId';
  it.each([
    ['', undefined],
    ['0af7651916cd43dd8448eb211c80319c', undefined],
    ['0AF7651916CD43DD8448EB211C80319C', undefined],
    ['00f067aa0ba902b7', undefined],
    [' 0af7651916cd43dd8448eb211c80319c ', undefined],
    ['$traceId', undefined],
    ['${traceId}', undefined],
    ['${traceId:raw}', undefined],
    ['[[traceId]]', undefined],
    ['abc123xyz', ERROR],
    ['0af7651916cd43dd8448eb211c80319c0', ERROR],
    ['$trace id', ERROR],
  ])('%j -> %j', (value, expected) => {
    expect(validateTraceId(value)).toBe(expected);
  });
});

describe('validateTimeShift', () => {
  it.each([
    ['', undefined],
    ['-5m', undefined],
    ['30s', undefined],
    ['1h', undefined],
    ['5', 'Enter a duration with a unit, e.g. -5m, 30s or 1h'],
    ['five minutes', 'Enter a duration with a unit, e.g. -5m, 30s or 1h'],
  ])('%j -> %j', (value, expected) => {
    expect(validateTimeShift(value)).toBe(expected);
  });
});

describe('validateTenantId', () => {
  const CHARS = "Use only letters, digits and ! - _ . * ' ( ) in a tenant ID; separate several tenants with |";
  it.each([
    ['', undefined],
    ['tenant-a', undefined],
    ["team_1.prod(*)'!", undefined],
    ['tenant-a|tenant-b', undefined],
    ['tenant a', CHARS],
    ['tenant/a', CHARS],
    ['..', CHARS],
    ['tenant-a||tenant-b', 'Remove the extra "|": every tenant between separators needs a name'],
    ['x'.repeat(151), 'A tenant ID is at most 150 characters (this one has 151)'],
  ])('%j -> %j', (value, expected) => {
    expect(validateTenantId(value)).toBe(expected);
  });
});

describe('validatePemCertificate', () => {
  it('accepts PEM text and nothing else', () => {
    expect(validatePemCertificate('')).toBeUndefined();
    expect(validatePemCertificate('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')).toBeUndefined();
    expect(validatePemCertificate('MIIB')).toBe(
      'Paste the CA certificate in PEM form, including the BEGIN CERTIFICATE and END CERTIFICATE lines'
    );
  });
});
