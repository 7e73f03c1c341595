#!/bin/sh
# Before the package's files are removed or replaced (remove, purge, upgrade): every running
# instance of the app is asked to quit (SIGTERM: the app stops its sidecars gracefully, the
# bundled PostgreSQL included), then whatever still runs from the package's files after 20 s is
# killed. Users' data (~/.local/share/<identifier>) is never touched.
set -u
mine() {
  for exe in /proc/[0-9]*/exe; do
    target=$(readlink "$exe" 2>/dev/null) || continue
    case "$target" in
      "/usr/bin/desktop-runtime-app"*|"/usr/bin/desktop-runtime-backend"*|"/usr/bin/desktop-runtime-worker"*|"/usr/lib/Desktop Runtime/"*)
        pid=${exe#/proc/}; echo "${pid%/exe}" ;;
    esac
  done
}
for pid in $(mine); do
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = /usr/bin/desktop-runtime-app ] && kill -TERM "$pid" 2>/dev/null
done
i=0
while [ -n "$(mine)" ] && [ $i -lt 100 ]; do
  sleep 0.2
  i=$((i + 1))
done
left=$(mine)
[ -n "$left" ] && kill -KILL $left 2>/dev/null
exit 0
