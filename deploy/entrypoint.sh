#!/bin/sh
# Container entrypoint: run the service named by the command.
#   ingest | transform | quality | catalog | ai | scheduler | gateway  -> flowforge-<name>
#   anything else (flowforge-ingest, flowforge, python, sh, ...) runs as given.
set -e

case "$1" in
    ingest|transform|quality|catalog|ai|scheduler|gateway)
        service="$1"
        shift
        exec "flowforge-${service}" "$@"
        ;;
esac

exec "$@"
