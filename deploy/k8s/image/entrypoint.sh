#!/bin/sh
# gs-inventory-client <gs-agent|lb-bootstrap|node-drain-watcher> [options] [-- command ...]
set -e
command="$1"
case "$command" in
  gs-agent|lb-bootstrap|node-drain-watcher) shift; exec node "/opt/gs-inventory/$command.mjs" "$@" ;;
  *) echo "usage: gs-inventory-client gs-agent|lb-bootstrap|node-drain-watcher [options]" >&2; exit 2 ;;
esac
