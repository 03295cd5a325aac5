// Runs `publish` / `arn` in a child process exactly as registered on the CLI, with the CLI's error-to-exit-code
// mapping, so a test can SIGKILL a real publisher mid-run. Kept separate from builder/cli.ts so the test depends
// only on the publish commands.
import { Command, CommanderError } from 'commander'
import { FactoryError } from '../../builder/errors.ts'
import { registerPublishCommands } from '../../builder/publish/command.ts'

const program = new Command().exitOverride()
registerPublishCommands(program)
try {
  await program.parseAsync(process.argv)
} catch (e) {
  if (e instanceof FactoryError) {
    process.stderr.write(`error: ${e.message}${e.hint ? ` → ${e.hint}` : ''}\n`)
    process.exitCode = e.exitCode
  } else if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : 2
  } else {
    process.stderr.write(`internal error: ${(e as Error).stack ?? String(e)}\n`)
    process.exitCode = 1
  }
}
