import { readFileSync } from 'fs';
import { join } from 'path';

import { DOC_SECTIONS, docUrl, headingAnchor } from './docs';
import { LOG_QUERY_MODE_DESCRIPTIONS } from './types';

// The editors link to README sections on GitHub; a renamed heading would
// leave the link pointing at the top of the page.
const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
const headings = readme
  .split('\n')
  .filter((line) => /^#{1,6} /.test(line))
  .map((line) => line.replace(/^#+ /, ''));

describe('doc links', () => {
  it.each(Object.entries(DOC_SECTIONS))('%s points at a README heading (%s)', (section, heading) => {
    expect(headings).toContain(heading);
    expect(docUrl(section as keyof typeof DOC_SECTIONS)).toBe(
      `https://github.com/tracegap/correlator#${headingAnchor(heading)}`
    );
  });

  it("builds GitHub's anchors", () => {
    expect(headingAnchor('Query types')).toBe('query-types');
    expect(headingAnchor('Example alert rule: "widget-service log-derived wait > 500 ms"')).toBe(
      'example-alert-rule-widget-service-log-derived-wait--500-ms'
    );
  });

  it('the README describes auto mode in the words the config editor uses', () => {
    expect(readme).toContain(LOG_QUERY_MODE_DESCRIPTIONS.auto);
  });
});
