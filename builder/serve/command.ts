// Registers `serve` on the factory's commander program; the server is imported inside the action.
import { type Command, Option } from 'commander'

const HELP = `
Runs <app dir> through a built layer as Lambda would, behind a local HTTP server on 127.0.0.1: each browser request
becomes an event of the chosen source, the layer's own bootstrap answers it in the smoke sandbox (layer read-only at
/opt, the app read-only at /var/task, Lambda's environment and libraries), and the answer goes back as that source's
front end would send it. Startup prints the URL and the layer build; every request is logged with its status and
duration, and PHP's output (stderr, error_log) is shown as it comes. Edits to the app show on the next request.

The layer is --layer, else the newest zip in dist/ (npm run build writes them there).

Examples:
  npm run serve -- ../my-site
  npm run serve -- ../my-site --handler web/app.php --source url --port 8000
  npm run serve -- ../my-site --layer dist/php-82-8.2.32-x86_64.zip --env APP_ENV=dev
`

export interface ServeCommandOptions {
  handler: string
  source: 'alb' | 'http' | 'rest' | 'url'
  port: string
  layer?: string
  timeout: string
  env: string[]
}

export function registerServeCommand(program: Command, root: string): void {
  program
    .command('serve')
    .description('serve a PHP app locally through a built layer, as Lambda runs it (127.0.0.1 only)')
    .argument('<app dir>', 'the app\'s root (holds public/, php/conf.d/, vendor/)')
    .option('--handler <path>', 'front controller relative to the app root (becomes _HANDLER)', 'public/index.php')
    .addOption(new Option('--source <source>', 'event source the requests arrive as').choices(['alb', 'http', 'rest', 'url']).default('alb'))
    .option('--port <n>', 'port on 127.0.0.1 (0: any free port)', '8080')
    .option('--layer <zip>', 'layer zip written by npm run build (default: the newest in dist/)')
    .option('--timeout <seconds>', 'the function timeout', '28')
    .option('--env <KEY=VALUE>', 'environment variable for the function (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .addHelpText('after', HELP)
    .action(async (appDir: string, opts: ServeCommandOptions) => {
      const { serveAction } = await import('./action.ts')
      await serveAction(appDir, opts, root)
    })
}
