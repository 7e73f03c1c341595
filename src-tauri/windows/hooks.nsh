; Installer hooks (Tauri NSIS): before files are replaced or removed, the running app and every
; process started from the install dir (its sidecars, the bundled PostgreSQL) must be gone, or
; Windows refuses to overwrite them ("Error opening file for writing"), the update failure Tauri
; users report most.
;
; First the app is asked to close (taskkill without /F sends WM_CLOSE): it stops its sidecars
; gracefully, PostgreSQL included. Then the hook waits up to 20 s for every process whose
; executable lies under $INSTDIR to end, and ends the rest. A PostgreSQL the user installed
; elsewhere is never touched: only paths under $INSTDIR count.

!macro DESKTOP_RUNTIME_STOP_EVERYTHING
  nsExec::ExecToLog `taskkill /T /IM "${MAINBINARYNAME}.exe"`
  Pop $0
  nsExec::ExecToLog `powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command "$$d = '$INSTDIR\'; $$mine = { Get-Process | Where-Object { $$_.Path -and $$_.Path.StartsWith($$d, [StringComparison]::OrdinalIgnoreCase) } }; $$until = (Get-Date).AddSeconds(20); while ((& $$mine) -and (Get-Date) -lt $$until) { Start-Sleep -Milliseconds 200 }; & $$mine | Stop-Process -Force -ErrorAction SilentlyContinue"`
  Pop $0
!macroend

!macro NSIS_HOOK_PREINSTALL
  !insertmacro DESKTOP_RUNTIME_STOP_EVERYTHING
!macroend

!macro NSIS_HOOK_PREUNINSTALL
  !insertmacro DESKTOP_RUNTIME_STOP_EVERYTHING
!macroend
