#!/usr/bin/env python3
"""POST /execute of python print(1) through isol8-serve at concurrency 1 and 4, with and without
a warm pool, side by side with the bare `python3 -c 'print(1)'` spawn rate at the same
concurrency. Median and p99 latency, requests/s, and ratios to bare python.
Keep-alive is not used (isol8-serve answers one request per connection), so each request
pays a TCP connect, as the reference's clients do."""
import http.client, json, os, signal, statistics, subprocess, sys, time

from benchlib import load, pct, post_print1, setup, start_pool

args, BIN, RUN_DIR, ENV = setup(200)
KEY = "bench-key-0123456789abcdef"


def start_server():
    p = subprocess.Popen([f"{BIN}/isol8-serve", "--key", KEY, "--listen", "127.0.0.1:0"], env=ENV,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    port = int(line.rsplit(":", 1)[1])
    return p, port


def one_post(port):
    dt, answer = post_print1(port, KEY)
    return dt, answer.get("warm")


def one_python():
    t = time.perf_counter()
    subprocess.run(["/usr/bin/python3", "-c", "print(1)"], env=ENV, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def row(name, lat, wall=None, base=None):
    """Prints median and p99 (ms), and with wall the rate; base (median, rate) adds ratios."""
    med, p99 = statistics.median(lat) * 1000, pct(lat, 0.99) * 1000
    rps = len(lat) / wall if wall else None
    rate = f" {rps:8.1f}" if rps else ""
    extra = f"   {med / base[0]:.2f}x" if base else ""
    extra += f"   {base[1] / rps:.2f}x" if base and rps and base[1] else ""
    print(f"  {name:<34} {med:8.1f} {p99:8.1f}{rate}{extra}")
    return med, rps


def main():
    srv, port = start_server()
    pool = None
    try:
        print(f"POST /execute python print(1), {args.runs} requests per row "
              "(latency ms; ratio = isol8 / bare python3 -c, for the median and for 1/throughput)")
        for conc in (1, 4):
            print(f"\nconcurrency {conc}:             median      p99    req/s   ratio(med) ratio(rate)")
            load(one_python, 10, conc)
            lat, wall, _ = load(one_python, args.runs, conc)
            base = row("python3 -c (bare spawn)", lat, wall)
            load(lambda: one_post(port), 10, conc)
            lat, wall, warm = load(lambda: one_post(port), args.runs, conc)
            row("isol8-serve, cold sandboxes", lat, wall, base)
            if pool is None:
                pool = start_pool(BIN, RUN_DIR, ENV, 4)
            load(lambda: one_post(port), 10, conc)
            lat, wall, warm = load(lambda: one_post(port), args.runs, conc)
            row(f"isol8-serve + isol8-pool ({sum(1 for w in warm if w)}/{len(warm)} warm)", lat, wall, base)
            pool.send_signal(signal.SIGTERM)
            pool.wait()
            pool = None
        # Agents think between requests: one every 150 ms (bench/throughput.py has sustained load
        # at more concurrencies, and the fraction of runs that found python running).
        print("\npaced, one request every 150 ms: median      p99")
        def paced(fn, n):
            lat, res = [], []
            for _ in range(n):
                out = fn()
                lat.append(out[0] if isinstance(out, tuple) else out)
                res.append(out[1] if isinstance(out, tuple) else None)
                time.sleep(0.15)
            return lat, res
        n = min(args.runs, 100)
        base = row("python3 -c (bare spawn)", paced(one_python, n)[0])
        row("isol8-serve, cold sandboxes", paced(lambda: one_post(port), n)[0], base=base)
        pool = start_pool(BIN, RUN_DIR, ENV, 2)
        lat, warm = paced(lambda: one_post(port), n)
        row(f"isol8-serve + isol8-pool ({sum(1 for w in warm if w)}/{len(warm)} warm)", lat, base=base)
    finally:
        if pool:
            pool.terminate()
        srv.send_signal(signal.SIGTERM)
        srv.wait()


main()
