import { expect, test } from '@grafana/plugin-e2e';

import { endpointSelectors } from '../src/selectors';

// Where the Grafana under test reaches Tempo and Loki (the compose stack's
// service names by default).
const TEMPO_URL = process.env.TEMPO_URL ?? 'http://tempo:3200';
const LOKI_URL = process.env.LOKI_URL ?? 'http://loki:3100';
const PLUGIN_ID = 'tracegap-correlator-datasource';

const tempo = endpointSelectors('tempo');
const loki = endpointSelectors('loki');

test('"Save & test" succeeds with reachable Tempo and Loki', async ({ createDataSourceConfigPage, page }) => {
  const configPage = await createDataSourceConfigPage({ type: PLUGIN_ID });
  await page.getByRole('textbox', { name: tempo.url.label }).fill(TEMPO_URL);
  await page.getByRole('textbox', { name: loki.url.label }).fill(LOKI_URL);
  await expect(configPage.saveAndTest()).toBeOK();
});

test('a URL without http(s) is explained before saving', async ({ createDataSourceConfigPage, page }) => {
  await createDataSourceConfigPage({ type: PLUGIN_ID });
  await page.getByRole('textbox', { name: tempo.url.label }).fill('tempo:3200');
  await expect(
    page.getByText('Enter a full URL starting with http:// or https://, e.g. http://tempo:3200')
  ).toBeVisible();
});
