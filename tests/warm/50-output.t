#!/usr/bin/env bash
# The runner suite 50-output again, with a warm pool serving its sandboxes (issue 6: every runner
# test passes on the warm path too).
ISOL8_TEST_POOL=1 exec bash "$(dirname "$0")/../integ/50-output.t"
