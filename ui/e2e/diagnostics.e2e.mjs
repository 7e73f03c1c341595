// The Desktop Runtime dialog as a diagnostics tool, driven in the real window: the live log
// viewer (a line the test makes the executor print is found by search), the whole log read as
// raw bytes vs JSON (50 MB, throughput ratio, the page's longest stall meanwhile), resources
// (non-zero for PostgreSQL), the diagnostics bundle (unzipped and searched for secrets), the
// timeline after a kill, and a screenshot of each view at 800×600 and 1280×800.

import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** Size of the history planted for the measurement. */
export const BIG_LOG_MB = 50

/** Before the app starts: 50 MB of earlier output in the executor's rotated log (`.2`). */
export function plantBigLog(dataDir) {
  const dir = join(dataDir, 'logs')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const line = (i) => `2026-12-01T10:00:00.000Z stdout filler line ${String(i).padStart(9, '0')} ${'x'.repeat(60)}\n`
  const one = Buffer.byteLength(line(0))
  const n = Math.ceil((BIG_LOG_MB * 1048576) / one)
  const chunk = []
  for (let i = 0; i < n; i++) chunk.push(line(i))
  writeFileSync(join(dir, 'executor.log.2'), chunk.join(''), { mode: 0o600 })
}

const invoke = (browser, cmd, args) =>
  browser.executeAsync(
    (cmd, args, done) =>
      window.__TAURI_INTERNALS__.invoke(cmd, args).then(
        (v) => done({ ok: true, v }),
        (e) => done({ ok: false, e: e?.message ?? String(e) }),
      ),
    cmd,
    args,
  )

/** Times one whole-log read in the page (`encoding` raw or json) while a 10 ms ticker runs:
 * returns ms, bytes received and the ticker's longest gap (how long the page was stuck). */
async function timeRead(browser, name, encoding) {
  return browser.executeAsync(
    (name, encoding, done) => {
      const T = window.__TAURI_INTERNALS__
      let last = performance.now()
      let worst = 0
      const tick = setInterval(() => {
        const now = performance.now()
        worst = Math.max(worst, now - last)
        last = now
      }, 10)
      const t0 = performance.now()
      let got = 0
      let chunks = 0
      let total = -1
      const finish = (r) =>
        // Let the ticker run once more: a stall at the end counts too.
        setTimeout(() => {
          clearInterval(tick)
          done(r)
        }, 30)
      const end = () => finish({ ms: performance.now() - t0, bytes: got, chunks, worstGapMs: worst, type: 'ArrayBuffer' })
      // A channel as the plugin's bindings make one (`__CHANNEL__:<callback id>`).
      const id = T.transformCallback((raw) => {
        if (raw.message instanceof ArrayBuffer) {
          got += raw.message.byteLength
          chunks += 1
          if (got === total) end()
        }
      })
      T.invoke('plugin:sidecar-supervisor|log_history', { name, encoding, onChunk: `__CHANNEL__:${id}` })
        .then((v) => {
          if (encoding === 'json') {
            return finish({ ms: performance.now() - t0, bytes: Array.isArray(v) ? v.length : -1, worstGapMs: worst, type: typeof v })
          }
          total = v
          if (got === total) end()
        })
        .catch((e) => {
          clearInterval(tick)
          done({ error: e?.message ?? String(e) })
        })
    },
    name,
    encoding,
  )
}

const openTab = async ($, tab) => (await $(`[data-testid="dialog-tab-${tab}"]`)).click()

export async function logsResourcesBundle({ browser, $, until, check, log, ARTIFACTS, DATA_DIR }) {
  // Logs: the executor prints a marker (a `log` action of a run), the open viewer gets it live.
  const marker = `e2e-marker-${Date.now()}`
  const cfg = join(DATA_DIR, 'marker-run.json')
  writeFileSync(cfg, JSON.stringify({ name: 'marker', states: [{ id: 's', actions: [{ id: 'say', kind: 'log', message: marker }] }] }))
  await (await (await $('[data-testid="row-executor"]')).$('button=Logs')).click()
  await until('the executor log is read', async () =>
    /of [1-9]\d* lines/.test(await (await $('[data-testid="log-count"]')).getText()),
  )
  const started = await invoke(browser, 'plugin:sidecar-supervisor|sidecar_request', {
    name: 'executor',
    method: 'start',
    params: { path: cfg },
    timeoutMs: 15000,
  })
  check(started.ok, `the executor runs the marker config (${JSON.stringify(started)})`)
  await until('the marker line arrives live', async () =>
    browser.execute((m) => document.querySelector('[data-testid="log-tail"]')?.textContent.includes(m), marker),
  )
  await (await $('[data-testid="log-search"]')).setValue(marker)
  await until('search finds the marker', async () => (await (await $('[data-testid="log-count"]')).getText()).startsWith('1 of '))
  const found = await browser.execute(() => [...document.querySelectorAll('[data-testid="log-tail"] mark')].map((m) => m.textContent))
  check(found.length === 1 && found[0] === marker, `search finds the line the executor printed (${found})`)
  const count = await (await $('[data-testid="log-count"]')).getText()
  log(`logs view: ${count} (the planted ${BIG_LOG_MB} MB history included)`)

  // The whole log as raw bytes vs JSON numbers: throughput and the page's longest stall.
  const raw = await timeRead(browser, 'executor', 'raw')
  const json = await timeRead(browser, 'executor', 'json')
  const mb = (raw.bytes ?? 0) / 1048576
  const fig = {
    bytes: raw.bytes,
    raw_ms: raw.ms,
    json_ms: json.ms,
    raw_mb_per_s: mb / (raw.ms / 1000),
    json_mb_per_s: mb / (json.ms / 1000),
    ratio: json.ms / raw.ms,
    raw_worst_gap_ms: raw.worstGapMs,
    json_worst_gap_ms: json.worstGapMs,
    raw_type: raw.type,
    raw_chunks: raw.chunks,
  }
  log(
    `whole log (${mb.toFixed(1)} MB) into the page: raw ${raw.ms?.toFixed(0)} ms (${fig.raw_mb_per_s.toFixed(0)} MB/s, longest stall ${raw.worstGapMs?.toFixed(0)} ms) vs JSON ${json.ms?.toFixed(0)} ms (${fig.json_mb_per_s.toFixed(0)} MB/s, longest stall ${json.worstGapMs?.toFixed(0)} ms): raw is ${fig.ratio.toFixed(1)}× faster`,
  )
  writeFileSync(join(ARTIFACTS, 'log-transfer.json'), JSON.stringify(fig, null, 2))
  check(raw.bytes >= BIG_LOG_MB * 1048576, `the history arrives as ${raw.chunks} ArrayBuffers, ${raw.bytes} bytes in all (${raw.error ?? 'ok'})`)
  check(json.bytes === raw.bytes, `the JSON path carries the same bytes (${json.bytes ?? json.error})`)

  // Export of the whole log where the "user" chose (the save dialog itself is the OS's).
  const exportPath = join(ARTIFACTS, 'executor-export.log')
  const t0 = Date.now()
  const exported = await invoke(browser, 'plugin:sidecar-supervisor|export_log', { name: 'executor', path: exportPath })
  const exportMs = Date.now() - t0
  check(exported.ok && statSync(exportPath).size === exported.v, `export_log wrote ${exported.v} bytes in ${exportMs} ms`)
  check(readFileSync(exportPath, 'utf8').includes(marker), 'the export holds the marker line')
  log(`export of the whole log (${(exported.v / 1048576).toFixed(1)} MB) to a file: ${exportMs} ms`)

  // Resources: sampled while the dialog is open, non-zero for PostgreSQL (its whole tree).
  await until('PostgreSQL has resources', async () =>
    browser.execute(() => Number(document.querySelector('[data-testid="rss-database"]')?.dataset.value || 0) > 0),
  )
  const db = await browser.execute(() => ({
    rss: Number(document.querySelector('[data-testid="rss-database"]').dataset.value),
    text: document.querySelector('[data-testid="rss-database"]').textContent,
    cpu: document.querySelector('[data-testid="cpu-database"]').textContent,
  }))
  check(db.rss > 1048576 && /procs/.test(db.text), `PostgreSQL: ${db.cpu} CPU, ${db.text} (its process tree)`)

  // The diagnostics bundle: unzipped and searched for the launch's API key and URL passwords.
  const zipPath = join(ARTIFACTS, 'diagnostics.zip')
  const saved = await invoke(browser, 'plugin:sidecar-supervisor|diagnostics_bundle', { path: zipPath })
  check(saved.ok, `diagnostics bundle written (${saved.v ?? saved.e} bytes)`)
  const out = join(ARTIFACTS, 'diagnostics-unzipped')
  execFileSync('python3', ['-m', 'zipfile', '-e', zipPath, out])
  const files = []
  const walk = (d) => readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(join(d, e.name)) : files.push(join(d, e.name))))
  walk(out)
  const names = files.map((f) => f.slice(out.length + 1)).sort()
  log(`bundle: ${names.join(', ')}`)
  const want = ['status.json', 'feed.json', 'profile.json', 'versions.json', 'data-dir.txt', 'logs/database.log', 'logs/backend.log']
  check(want.every((w) => names.includes(`diagnostics/${w}`)), 'the bundle has status, feed, profile, versions, layout and logs')
  const key = await browser.execute(() => window.__DESKTOP_RUNTIME__?.apiKey)
  const all = files.map((f) => readFileSync(f, 'utf8')).join('\n')
  check(key && key.length >= 32 && !all.includes(key), 'the launch API key appears nowhere in the bundle')
  const urlPassword = /[a-z]+:\/\/[^/\s:@"]+:(?!\[redacted\])[^@\s"/]+@/i.exec(all)
  check(!urlPassword, `no URL password in the bundle (${urlPassword?.[0] ?? 'none'})`)
  const status = JSON.parse(readFileSync(join(out, 'diagnostics', 'status.json'), 'utf8'))
  check(status.sidecars.some((r) => r.name === 'database' && r.resources?.rss_bytes > 0), 'the bundle status carries resources')
}

/** After the backend was killed: the timeline shows its spans (ready, then starting, then ready
 * again) and the exit. A backend ready for more than a second (min_uptime) is restarted at once
 * when killed: its spans go straight to starting, never through backoff (a crash loop's). */
export async function timelineAfterKill({ browser, $, until, check, log }) {
  await openTab($, 'timeline')
  await until('timeline spans rendered', async () => (await $('[data-testid="timeline-spans"]')).isExisting())
  const spans = await browser.execute(() =>
    [...document.querySelectorAll('[data-testid="timeline-spans"] li[data-sidecar="backend"]')].map((l) => l.dataset.state),
  )
  const marks = await browser.execute(() =>
    [...document.querySelectorAll('[data-testid="timeline-marks"] li[data-sidecar="backend"]')].map((l) => l.dataset.mark),
  )
  log(`timeline of backend: spans ${spans.join(' → ')}; marks ${marks.join(', ')}`)
  const readies = spans.filter((s) => s === 'ready').length
  check(readies >= 2 && spans.includes('starting'), `a span per state after the kill (${spans})`)
  // The spans from the kill (its exit mark) on.
  const afterKill = await browser.execute(() => {
    const at = (l, k) => Number(l.dataset[k])
    const exits = [...document.querySelectorAll('[data-testid="timeline-marks"] li[data-sidecar="backend"][data-mark="exited"]')]
    const killAt = Math.max(...exits.map((l) => at(l, 'at')))
    return [...document.querySelectorAll('[data-testid="timeline-spans"] li[data-sidecar="backend"]')]
      .filter((l) => at(l, 'start') >= killAt)
      .map((l) => l.dataset.state)
  })
  check(
    afterKill.length > 0 && !afterKill.includes('backoff'),
    `a kill -9 of a backend ready for over a second restarts it at once: starting, no backoff (after the kill: ${afterKill.join(' → ')})`,
  )
  check(marks.some((m) => m === 'exited' || m === 'exit'), `the exit is marked (${marks})`)
  const chain = await (await $('[data-testid="critical-chain"]')).getText()
  check(chain.includes('database') && chain.includes('backend'), `critical chain names database and backend`)
}

/** Screenshots of every view at both sizes (artifacts). */
export async function screenshotsOfEveryView({ browser, $, ARTIFACTS, check }) {
  for (const [w, h] of [
    [800, 600],
    [1280, 800],
  ]) {
    await browser.setWindowSize(w, h)
    for (const tab of ['events', 'logs', 'timeline']) {
      await openTab($, tab)
      await browser.pause(300) // a screenshot of a settled layout, not a synchronisation
      await browser.saveScreenshot(join(ARTIFACTS, `dialog-${tab}-${w}x${h}.png`))
    }
    const fits = await browser.execute(() => {
      const d = document.querySelector('[data-testid="runtime-dialog"]').getBoundingClientRect()
      return d.right <= window.innerWidth + 1 && d.bottom <= window.innerHeight + 1
    })
    check(fits, `the dialog fits ${w}×${h}`)
  }
  await browser.setWindowSize(1100, 760)
}
