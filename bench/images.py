#!/usr/bin/env python3
"""Images benchmark: a run that needs packages, on a prebuilt image (`isol8 run --image`) against
installing them at run time (`isol8 run --install`), for python (a local wheel) and node (a
local npm package), and python's image run again with isol8-pool keeping sandboxes of the image
ready (config poolImages), interleaved, median and p99 over N runs each. The packages come from a
package index on loopback (tests/helpers/pkg_index.py) inside a network namespace of this
benchmark's own, so it re-executes itself under `unshare --net --mount` (root). Not a timed test.
usage: bench/images.py [--runs N] [--bin build/bin]"""
import os, shutil, statistics, subprocess, sys, tempfile, time
from benchlib import interleave, pct, setup, start_pool

if not os.environ.get("ISOL8_BENCH_NS"):
    os.execvp("unshare", ["unshare", "--net", "--mount", "env", "ISOL8_BENCH_NS=1", sys.executable] + sys.argv)

args, b, run_dir, env = setup(default_runs=30)
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
here = os.path.dirname(os.path.abspath(__file__))
index = subprocess.Popen([sys.executable, f"{here}/../tests/helpers/pkg_index.py", "80"])
for _ in range(100):
    if subprocess.run(["curl", "-s", "-o", "/dev/null", "http://127.0.0.1:80/simple/numpy/"]).returncode == 0:
        break
    time.sleep(0.05)
stores = tempfile.mkdtemp(prefix="isol8-bench-images.")
net = {"PIP_INDEX_URL": "http://localhost/simple/", "NPM_CONFIG_REGISTRY": "http://localhost/",
       "ISOL8_PROXY_ALLOW_PRIVATE": "1"}
with_images = dict(env, ISOL8_IMAGE_DIR=f"{stores}/built", **net)
no_images = dict(env, ISOL8_IMAGE_DIR=f"{stores}/empty", **net)  # resolution finds nothing: installs
isol8 = f"{b}/isol8"
for rt, pkg in (("python", "numpy"), ("node", "lodash")):
    subprocess.run([isol8, "build", "--base", rt, "--install", pkg, "--tag", f"{rt}-img"], env=with_images,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

# a pool of its own (run dir and config) that keeps sandboxes of the python image
pool_dir = tempfile.mkdtemp(prefix="isol8-bench-pool.")
with open(f"{stores}/pool.json", "w") as f:
    f.write('{"poolImages": ["python-img"]}')
pooled = dict(with_images, ISOL8_RUN_DIR=pool_dir, ISOL8_CONFIG=f"{stores}/pool.json")
pool = start_pool(b, pool_dir, pooled, size=2)

PY = "import numpy; print(numpy.array([1]))"
JS = "console.log(require('lodash').chunk([1], 1).length)"

def timed(argv, e):
    t = time.perf_counter()
    p = subprocess.run(argv, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    dt = (time.perf_counter() - t) * 1000
    assert p.returncode == 0, (argv, p.stderr[-400:])
    return dt

cases = {
    "python: --image (prebuilt)": lambda: timed([isol8, "run", "--image", "python-img", "-e", PY], with_images),
    "python: --image, pooled (poolImages)": lambda: timed([isol8, "run", "--image", "python-img", "-e", PY], pooled),
    "python: --install at run time": lambda: timed([isol8, "run", "--install", "numpy", "-e", PY, "--timeout", "60000"],
                                                   no_images),
    "node: --image (prebuilt)": lambda: timed([isol8, "run", "-r", "node", "--image", "node-img", "-e", JS], with_images),
    "node: --install at run time": lambda: timed([isol8, "run", "-r", "node", "--install", "lodash", "-e", JS,
                                                  "--timeout", "60000"], no_images),
}
times = interleave(cases, args.runs)
pool.terminate()
pool.wait()
index.terminate()
shutil.rmtree(pool_dir, ignore_errors=True)
shutil.rmtree(stores, ignore_errors=True)
shutil.rmtree(run_dir, ignore_errors=True)
print(f"a run that needs a package, {args.runs} interleaved runs each, {os.cpu_count()} CPUs "
      "(packages from a loopback index: the install rows pay no internet latency)")
print()
print("| path | median ms | p99 ms | ratio vs prebuilt |")
print("|---|---:|---:|---:|")
for rt in ("python", "node"):
    base = statistics.median(times[f"{rt}: --image (prebuilt)"])
    for k in [c for c in cases if c.startswith(f"{rt}:")]:
        m = statistics.median(times[k])
        print(f"| {k} | {m:.1f} | {pct(times[k], 0.99):.1f} | {m / base:.2f}x |")
