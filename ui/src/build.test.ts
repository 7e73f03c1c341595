// The identity badge's tooltip says which build a sidecar is and whether it is the app's.
import { describe, expect, it } from 'vitest'
import { buildText } from './DesktopRuntimeDialog'

describe('buildText', () => {
  it('names the build and whether it is the app’s', () => {
    expect(buildText(null)).toBe('')
    expect(buildText({ version: '1.2.0', build: 'abc123', matches: false })).toBe("\nversion 1.2.0, build abc123 — not the app's build")
    expect(buildText({ version: '1.2.0', build: 'abc123', matches: true })).toBe("\nversion 1.2.0, build abc123 — the app's build")
    expect(buildText({ version: '', build: '', matches: null })).toBe('\nversion ?, no build hash')
  })
})
