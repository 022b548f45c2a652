import { expect, test } from '@grafana/plugin-e2e';

import { QueryEditorSelectors as S } from '../src/selectors';

const TEMPO_URL = process.env.TEMPO_URL ?? 'http://tempo:3200';
const LOKI_URL = process.env.LOKI_URL ?? 'http://loki:3100';
// The seed trace the compose stack loads (see pkg/internal/fixtures/testdata/real/README.md).
const TRACE_ID = process.env.TRACE_ID ?? '0af7651916cd43dd8448eb211c80319c';

test('a trace query runs when the trace ID field loses focus', async ({ createDataSource, panelEditPage }) => {
  const ds = await createDataSource({
    type: 'tracegap-correlator-datasource',
    name: `tracegap-e2e-${Date.now()}`,
    jsonData: { tempoUrl: TEMPO_URL, lokiUrl: LOKI_URL },
  });
  await panelEditPage.datasource.set(ds.name);
  const row = panelEditPage.getQueryEditorRow('A');
  await expect(row.getByRole('radio', { name: 'Trace' })).toBeChecked();
  await row.getByRole('textbox', { name: S.traceId.label }).fill(TRACE_ID);
  const queryRequest = panelEditPage.waitForQueryDataRequest();
  await row.getByRole('textbox', { name: S.traceId.label }).blur();
  await expect(await queryRequest).toBeTruthy();
});

test('switching to Search shows TraceQL and limit', async ({ createDataSource, panelEditPage }) => {
  const ds = await createDataSource({
    type: 'tracegap-correlator-datasource',
    name: `tracegap-e2e-${Date.now()}`,
    jsonData: { tempoUrl: TEMPO_URL, lokiUrl: LOKI_URL },
  });
  await panelEditPage.datasource.set(ds.name);
  const row = panelEditPage.getQueryEditorRow('A');
  await row.getByRole('radio', { name: 'Search' }).check();
  await expect(row.getByRole('textbox', { name: S.query.label })).toBeVisible();
  await expect(row.getByRole('spinbutton', { name: S.limit.label })).toBeVisible();
});
