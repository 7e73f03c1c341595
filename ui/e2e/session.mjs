// What the end-to-end scripts share: a WebDriver session on the app (tauri-driver starts the
// binary), and waits on what the page shows. Also the check/log pair every script reports with.
import { remote } from 'webdriverio'

/** Opens `app` through tauri-driver at `driver` (a URL); `until(what, f)` waits for `f()`. */
export async function openApp(app, driver, timeout) {
  const browser = await remote({
    hostname: driver.hostname,
    port: Number(driver.port),
    logLevel: 'warn',
    capabilities: { 'tauri:options': { application: app } },
    connectionRetryTimeout: timeout,
  })
  const $ = (sel) => browser.$(sel)
  const until = (what, f, ms = timeout) => browser.waitUntil(f, { timeout: ms, interval: 25, timeoutMsg: `timed out: ${what}` })
  return { browser, $, until }
}

/** A logger with `prefix`, and `check(ok, what)` that logs and collects failures. */
export function reporter(prefix) {
  const failures = []
  const log = (...a) => console.log(prefix, ...a)
  const check = (ok, what) => {
    if (!ok) failures.push(what)
    log(ok ? 'ok  ' : 'FAIL', what)
  }
  return { failures, log, check }
}
