// The app as installed from its .deb, driven over WebDriver (`cargo xtask install-test` installs
// the package, starts Xvfb and tauri-driver as an ordinary user with a fresh HOME and a PATH
// without PostgreSQL, and runs this once per launch). Environment:
//   APP          the installed app binary        INSTALL_DIR  the package's resource dir
//   DATA_DIR     ~/.local/share/<identifier> of the test user
//   APP_PATH     the PATH the app was given      LAUNCH       1 or 2
//   PACKAGE      the package name (launch 2 removes it while the app is open)
//   RESULT       where to write this launch's figures (JSON)
//   DRIVER       tauri-driver's URL
// Every wait is on something the page or the system shows.

import { readFileSync, readdirSync, readlinkSync, existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { openApp, reporter } from './session.mjs'

const { APP, INSTALL_DIR, DATA_DIR, APP_PATH, PACKAGE, RESULT } = process.env
const LAUNCH = Number(process.env.LAUNCH)
const DRIVER = new URL(process.env.DRIVER ?? 'http://127.0.0.1:4444')
if (!APP || !INSTALL_DIR || !DATA_DIR || !APP_PATH || !PACKAGE || !RESULT || !LAUNCH) {
  throw new Error('APP, INSTALL_DIR, DATA_DIR, APP_PATH, PACKAGE, RESULT and LAUNCH must be set (see cargo xtask install-test)')
}

const TIMEOUT = 120_000
const { failures, log, check } = reporter(`[installed ${LAUNCH}]`)
const exeOf = (pid) => {
  try {
    return readlinkSync(`/proc/${pid}/exe`)
  } catch {
    return null
  }
}
const envOf = (pid, name) =>
  readFileSync(`/proc/${pid}/environ`, 'utf8')
    .split('\0')
    .find((e) => e.startsWith(`${name}=`))
    ?.slice(name.length + 1)
// Every live process running a file of the package: the app, its sidecars, the bundled server.
const ours = () =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      const exe = exeOf(p)
      return exe && (exe.startsWith(`${INSTALL_DIR}/`) || exe.startsWith('/usr/bin/desktop-runtime-'))
    })
const waitNoneOfOurs = async (ms) => {
  const deadline = Date.now() + ms
  while (ours().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  return ours()
}
const status = () => JSON.parse(readFileSync(join(DATA_DIR, 'runtime', 'status.json'), 'utf8'))

const launched = Date.now()
const { browser, $, until } = await openApp(APP, DRIVER, TIMEOUT)
const result = { launch: LAUNCH }

try {
  await until('all sidecars ready in the main view', async () =>
    /^(all \d+ sidecars|1 sidecar) ready$/.test(await (await $('[data-testid="runtime-summary"]')).getText()),
  )
  result.all_ready_ms = Date.now() - launched
  log(`launch → all sidecars ready: ${result.all_ready_ms} ms`)

  // The data dir is the per-OS one, and the processes are the installed ones.
  check(existsSync(join(DATA_DIR, 'runtime', 'status.json')), `the data dir is ${DATA_DIR}`)
  const rows = status().sidecars
  const pid = (name) => rows.find((r) => r.name === name)?.pid
  const pg = exeOf(pid('database'))
  check(pg === `${INSTALL_DIR}/postgres/bin/postgres`, `postgres runs the bundled server: ${pg}`)
  check(!envOf(pid('database'), 'PATH')?.split(':').some((d) => existsSync(join(d, 'postgres')) || existsSync(join(d, 'pg_config'))),
    `no PostgreSQL on the PATH the app got (${envOf(pid('database'), 'PATH')})`)
  check(exeOf(pid('backend')) === '/usr/bin/desktop-runtime-backend', `the backend is the installed one: ${exeOf(pid('backend'))}`)
  check(APP_PATH === envOf(pid('backend'), 'PATH'), 'the app was started with the test PATH')

  if (LAUNCH === 1) {
    await (await $('textarea[aria-label="Job text"]')).setValue('made by the installed app')
    await (await $('[data-testid="create-job"]')).click()
    await until('the job is done', async () => (await $('[data-testid^="job-"][data-status="done"]')).isExisting())
    check(true, 'a job is processed')
    // Quit: the window closes, every sidecar stops.
    await browser
      .execute(() => window.__TAURI_INTERNALS__.invoke('plugin:window|close', { label: 'main' }))
      .catch(() => log('the window closed and took the WebDriver session with it'))
    const left = await waitNoneOfOurs(30_000)
    check(left.length === 0, `Quit leaves no process of the package (left: ${left})`)
    check(status().stopped === true, 'status.json says stopped')
  } else {
    await until('the job of the first launch is listed', async () =>
      (await browser.$$('[data-testid^="job-"][data-status="done"]').length) >= 1,
    )
    const text = await (await $('[data-testid^="job-"][data-status="done"]')).getText()
    check(text.length > 0, `the second launch finds the data (a job of launch 1: ${text.split('\n')[0]})`)
    // Removing the package while the app is open: its pre-removal script stops the app.
    const removal = spawnSync('apt-get', ['remove', '-y', PACKAGE], { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
    check(removal.status === 0, `apt-get remove ${PACKAGE} (exit ${removal.status}) ${removal.stderr.trim().split('\n').at(-1) ?? ''}`)
    const left = ours()
    check(left.length === 0, `after apt-get remove no process of the package runs (left: ${left})`)
    check(status().stopped === true, 'the app stopped its sidecars gracefully before the files went (status.json: stopped)')
    check(existsSync(join(DATA_DIR, 'database', 'pg', 'PG_VERSION')), 'the user data is still there')
  }
} catch (e) {
  failures.push(String(e?.message ?? e))
  console.error(e?.stack ?? e)
} finally {
  await browser.deleteSession().catch(() => {})
}

writeFileSync(RESULT, JSON.stringify(result))
if (failures.length) {
  console.error(`[installed ${LAUNCH}] ${failures.length} failure(s):\n  ${failures.join('\n  ')}`)
  process.exit(1)
}
log('all passed')
