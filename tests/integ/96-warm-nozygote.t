#!/usr/bin/env bash
# 96-warm.t's every case once more with the pool's zygotes off (isol8-pool --no-zygote): python
# then starts in each pooled sandbox, as before zygotes (docs/zygote.md).
WARM_POOL_ARGS=--no-zygote exec bash "$(dirname "$0")/96-warm.t"
