// `npm run tauri <command>` from ui/: the Tauri CLI looks for tauri.conf.json below the current
// directory, and the app lives beside ui/, in src-tauri/. This points the CLI at both (the
// same as running `cargo tauri <command>` at the repository's root).
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import cli from '@tauri-apps/cli'

const here = dirname(fileURLToPath(import.meta.url))
process.env.TAURI_APP_PATH ??= resolve(here, '..', '..', 'src-tauri')
process.env.TAURI_FRONTEND_PATH ??= resolve(here, '..')
cli.run(process.argv.slice(2), 'npm run tauri').catch((err) => {
  cli.logError(err.message)
  process.exit(1)
})
