#!/usr/bin/env bash
# The runner suite 20-runtimes again, with a warm pool serving its sandboxes (issue 6: every runner
# test passes on the warm path too).
ISOL8_TEST_POOL=1 exec bash "$(dirname "$0")/../integ/20-runtimes.t"
