import fs from 'fs';
import path from 'path';

// plugin.json is read by Grafana, by the Go SDK's mage build (executable) and
// by webpack; these checks keep the facts the three depend on in one place.
const root = path.resolve(__dirname, '..');
const pluginJson = JSON.parse(fs.readFileSync(path.join(root, 'plugin.json'), 'utf8'));
const packageJson = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

describe('plugin.json', () => {
  it('lives at the top level, with src/plugin.json a symlink to it', () => {
    const link = path.join(root, 'src', 'plugin.json');
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(link)).toBe('../plugin.json');
  });

  it('declares a backend data source with every feature the backend serves', () => {
    expect(pluginJson).toMatchObject({
      id: 'tracegap-correlator-datasource',
      type: 'datasource',
      name: 'Tracegap',
      backend: true,
      executable: 'gpx_tracegap',
      alerting: true,
      annotations: true,
      metrics: true,
      logs: true,
      tracing: true,
      dependencies: { grafanaDependency: '>=11.0.0' },
    });
  });

  it('takes its version from package.json (webpack replaces %VERSION% with it)', () => {
    expect(packageJson.version).toBe('0.1.0');
    expect(['%VERSION%', packageJson.version]).toContain(pluginJson.info.version);
  });

  it('points at logos that exist', () => {
    for (const logo of [pluginJson.info.logos.small, pluginJson.info.logos.large]) {
      expect(fs.existsSync(path.join(root, 'src', logo))).toBe(true);
    }
  });
});
