#!/usr/bin/env bash
# Cold runs under load: `isol8 run` of every runtime (code and file, exit 0 and 3) and the quick
# programs (--cmd true, -r bash -e echo, a bash file) hundreds of times while a busy loop runs on
# every CPU, one at a time and two at once. Any hang, wrong status or output, or leftover fails.
. "$(dirname "$0")/lib.sh"
cli_workload cold
finish
