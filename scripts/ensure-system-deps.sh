#!/usr/bin/env bash
# Makes sure the system packages the tests need are there: Java 17+ (DynamoDB Local), nginx
# with the stream module (the end-to-end test proxies UDP through a real nginx) and Chromium (the
# dashboard's tests and benchmark drive it headless; CHROMIUM_PATH names another build).
# Run by `npm test` (its first step). As root it installs what is missing with apt-get (Debian/Ubuntu);
# otherwise it prints the command to run and fails.
set -euo pipefail

missing=()

java_major() {
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1
}
if ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt 17 ] 2>/dev/null; then
  missing+=(openjdk-17-jre-headless)
fi

nginx_has_stream() {
  command -v nginx >/dev/null 2>&1 || return 1
  local build
  build="$(nginx -V 2>&1)" || return 1
  if grep -Eq -- '--with-stream( |$)' <<<"$build"; then return 0; fi
  grep -q -- '--with-stream=dynamic' <<<"$build" && [ -e /usr/lib/nginx/modules/ngx_stream_module.so ]
}
if ! nginx_has_stream; then
  missing+=(nginx libnginx-mod-stream)
fi

if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  missing+=(chromium)
fi

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

command_line="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-system-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  nginx_has_stream || { echo "ensure-system-deps: nginx still has no stream module after installing" >&2; exit 1; }
  exit 0
fi

echo "ensure-system-deps: the tests need ${missing[*]}; install them with:" >&2
echo "  sudo sh -c '${command_line}'" >&2
exit 1
