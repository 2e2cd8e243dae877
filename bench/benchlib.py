"""What every benchmark here shares: the --runs/--bin arguments, and a private run dir with the
clean environment the sandbox gives its payload (the host's may carry start-up costs:
NODE_EXTRA_CA_CERTS makes bare node load a CA bundle, ~40 ms here)."""
import argparse, os, subprocess, tempfile, time


def setup(default_runs):
    """Returns (args, absolute bin dir, run dir, env)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=default_runs)
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "build", "bin"))
    args = ap.parse_args()
    run_dir = tempfile.mkdtemp(prefix="isol8-bench.")
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "ISOL8_RUN_DIR": run_dir}
    return args, os.path.abspath(args.bin), run_dir, env


def start_pool(bin_dir, run_dir, env, size=4):
    """Starts isol8-pool for run_dir and waits until it listens and has had time to fill."""
    pool = subprocess.Popen([f"{bin_dir}/isol8-pool", "--size", str(size)], env=env, stderr=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(f"{run_dir}/pool.sock"):
            break
        time.sleep(0.05)
    time.sleep(0.3 * size)
    return pool
