// force timezone to UTC to allow tests to work regardless of local timezone
// generally used by snapshots, but can affect specific tests
process.env.TZ = 'UTC';

const base = require('./.config/jest.config');
const swcTransform = base.transform['^.+\\.(t|j)sx?$'];

module.exports = {
  // Jest configuration provided by Grafana scaffolding
  ...base,
  // A guard against a hung test, not a speed bar: on 2 shared cores with
  // other builds running, the config editor's first render alone can take tens
  // of seconds, and a test that times out keeps running into the next one.
  // No test asserts on time; this only has to be longer than any honest run.
  testTimeout: 300000,
  transform: {
    ...base.transform,
    // d3-color (pulled in by @grafana/ui) ships only .mjs files, which the scaffold's
    // transform pattern does not match; without this Jest fails with
    // "Cannot use import statement outside a module".
    '^.+\\.mjs$': swcTransform,
  },
};
