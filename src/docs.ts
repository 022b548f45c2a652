// Where the editors' "documentation" links point: sections of the README on
// GitHub, the one place the settings and query types are documented. The
// anchors are GitHub's slugs of the README's headings; a heading renamed there
// must be renamed here (docs.test.ts checks the README still has them).

const README = 'https://github.com/tracegap/correlator';

/** README headings the editors link to, by what they document. */
export const DOC_SECTIONS = {
  configuration: 'Configuration',
  queryTypes: 'Query types',
  variables: 'Template variables',
} as const;

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');
}

/** The README URL of one section. */
export function docUrl(section: keyof typeof DOC_SECTIONS): string {
  return `${README}#${headingAnchor(DOC_SECTIONS[section])}`;
}
