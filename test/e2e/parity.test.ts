// The parity suite on the built layer (the default PHP 8.2.32 x86_64 test layer) running in the smoke sandbox: every
// parity request through every HTTP source (REST, HTTP API 2.0, ALB with single and multi-value headers, function
// URL), against the same requests through nginx + PHP-FPM from Debian's packages with the layer's php.ini.
import t from 'tap'
import { runParitySuite } from '../support/parity.ts'
import { DEFAULT_LAYER, ensureLayer } from '../support/layer.ts'
import { startLayerSandbox } from '../support/layer-sandbox.ts'

const { result } = await ensureLayer(DEFAULT_LAYER)

t.test('the built layer answers as nginx + PHP-FPM do', (t) => runParitySuite(t, true, async (appDir) => {
  const layer = await startLayerSandbox(result.zip, result.arch as 'x86_64' | 'arm64', appDir)
  return { invoke: (event) => layer.invoke(event), stop: () => layer.stop() }
}))
