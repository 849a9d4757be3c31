#!/usr/bin/env python3
"""Clone and sync benchmark: p2pgit (relay on loopback, QUIC) against git daemon (git://) and
against the floor (git index-pack of the same pack + checkout), on the same generated repository.

Each run starts from fresh homes and an empty store; every clone is non-bare with a checkout.
Peak RSS is sampled every 10 ms as the sum over each side's whole process tree (client command
and its git children; server daemon's growth above its idle size plus its git children).

    bench/clone_bench.py [--bin build/bin] [--repo DIR] [--small]

--repo: an existing generated repository (else bench/make_bench_repo.sh makes one, cached in
$XDG_CACHE_HOME/p2pgit-bench); --small: a ~2,000-commit repository (smoke run, seconds).
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}


def env(**extra):
    e = dict(os.environ)
    e.update(GIT_ENV)
    e.update(extra)
    return e


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def tree_pids(root):
    """root and all its descendants (from /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except OSError:
            pass
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeSampler:
    """Peak of the summed RSS of process trees, sampled every 10 ms."""

    def __init__(self, roots, baseline_kb=0):
        self.roots, self.baseline, self.peak = roots, baseline_kb, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.is_set():
            total = sum(rss_kb(p) for r in self.roots() for p in tree_pids(r))
            self.peak = max(self.peak, total - self.baseline)
            time.sleep(0.01)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def tree_rss_kb(root):
    return sum(rss_kb(p) for p in tree_pids(root))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(cmd, cwd=None, extra_env=None, server_roots=lambda: [], server_baseline=0):
    """Runs cmd, returns (seconds, client peak kB, server peak growth kB, stdout)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env(**(extra_env or {})), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    with TreeSampler(lambda: [proc.pid]) as client, TreeSampler(server_roots, server_baseline) as server:
        out, err = proc.communicate()
    seconds = time.monotonic() - start
    if os.environ.get("P2PGIT_TRACE_TIMING") and err:
        sys.stderr.write(err)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed: {err.strip()}")
    return seconds, client.peak, server.peak, out


def start_daemon(p2pgit, home, args):
    proc = subprocess.Popen([p2pgit] + args, env=env(P2PGIT_HOME=home), stdout=subprocess.PIPE,
                            stderr=open(os.path.join(home + ".log"), "w"), text=True, start_new_session=True)
    node_id = address = None
    while node_id is None or ("--listen" in args and address is None):
        line = proc.stdout.readline()
        if not line:
            sys.exit(f"error: {args[0]} did not start (see {home}.log)")
        word, value = line.split()
        if word in ("node", "relay"):
            node_id = value
        elif word == "listening":
            address = value
    return proc, node_id, address


def stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except Exception:
        os.killpg(proc.pid, signal.SIGKILL)


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    sys.exit(f"error: timed out waiting for {what}")


def add_commits(work, n, tag):
    for i in range(n):
        path = os.path.join(work, "bench-incremental", f"{tag}-{i % 7}.txt")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a") as f:
            f.write(f"{tag} change {i}\n" * 20)
        run(["git", "-C", work, "add", "-A"], env=env())
        run(["git", "-C", work, "commit", "-q", "-m", f"{tag} {i}"], env=env())


def newest_pack_bytes(git_dir, before):
    packs = [os.path.join(git_dir, "objects/pack", p) for p in os.listdir(os.path.join(git_dir, "objects/pack"))
             if p.endswith(".pack") and p not in before]
    return sum(os.path.getsize(p) for p in packs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build", "bin"))
    ap.add_argument("--repo")
    ap.add_argument("--small", action="store_true")
    args = ap.parse_args()
    p2pgit = os.path.abspath(os.path.join(args.bin, "p2pgit"))
    tmp = tempfile.mkdtemp(prefix="p2pgit-clone-bench-")
    procs = []
    try:
        # The source repository (a working copy, as users share).
        source = os.path.join(tmp, "source")
        if args.repo:
            run(["git", "clone", "-q", "--no-hardlinks", args.repo, source], env=env())
        else:
            cache = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "p2pgit-bench",
                                 "repo-small" if args.small else "repo-full")
            if not os.path.isdir(cache):
                flags = ["--commits", "2000", "--initial-files", "300"] if args.small else []
                run([os.path.join(HERE, "make_bench_repo.sh"), cache] + flags, env=env())
            run(["git", "clone", "-q", "--no-hardlinks", cache, source], env=env())
        run(["git", "-C", source, "repack", "-adq"], env=env())
        count = run(["git", "-C", source, "count-objects", "-v"], env=env()).stdout
        size_kb = int([l for l in count.splitlines() if l.startswith("size-pack")][0].split()[1])
        commits = int(run(["git", "-C", source, "rev-list", "--count", "HEAD"], env=env()).stdout)
        print(f"clone_bench: repository {commits} commits, {size_kb / 1000:.1f} MB packed; loopback; 2 vCPU")

        # p2pgit: relay, sharer A (daemon), A shares, relay replicates, A stops.
        relay, relay_id, relay_addr = start_daemon(p2pgit, os.path.join(tmp, "relay"),
                                                   ["relay", "--listen", "127.0.0.1:0", "--reconcile-interval", "2"])
        procs.append(relay)
        contact = f"{relay_id}@{relay_addr}"
        a, _, _ = start_daemon(p2pgit, os.path.join(tmp, "a"), ["node", "--bootstrap", contact])
        procs.append(a)
        wait_until(lambda: "peers" in run([p2pgit, "status", "--json"], env=env(P2PGIT_HOME=os.path.join(tmp, "a"))).stdout
                   and json.loads(run([p2pgit, "status", "--json"], env=env(P2PGIT_HOME=os.path.join(tmp, "a"))).stdout)["peers"],
                   20, "A to reach the relay")
        share_start = time.monotonic()
        repo_id = run([p2pgit, "share", source, "--name", "bench"], env=env(P2PGIT_HOME=os.path.join(tmp, "a"))).stdout.split()[0]
        relay_home = os.path.join(tmp, "relay")
        verify = lambda: subprocess.run([p2pgit, "verify", repo_id], env=env(P2PGIT_HOME=relay_home),
                                        capture_output=True).returncode == 0
        wait_until(verify, 600, "the relay to replicate")
        print(f"share + relay replication: {time.monotonic() - share_start:.1f} s")
        stop(a)
        procs.remove(a)

        # 1. p2pgit clone from the relay.
        time.sleep(1)
        relay_idle = tree_rss_kb(relay.pid)
        b_home = os.path.join(tmp, "b")
        p_secs, p_client, p_server, _ = timed([p2pgit, "clone", repo_id, os.path.join(tmp, "p2p-clone"), "--bootstrap", contact],
                                              extra_env={"P2PGIT_HOME": b_home},
                                              server_roots=lambda: [relay.pid], server_baseline=relay_idle)

        # 2. git clone from git daemon.
        served = os.path.join(tmp, "served")
        os.makedirs(served)
        run(["git", "clone", "-q", "--bare", "--no-hardlinks", source, os.path.join(served, "bench.git")], env=env())
        run(["git", "-C", os.path.join(served, "bench.git"), "repack", "-adq"], env=env())
        port = free_port()
        daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={served}", f"--port={port}",
                                   "--listen=127.0.0.1", served], env=env(), start_new_session=True,
                                  stderr=subprocess.DEVNULL)
        procs.append(daemon)
        time.sleep(1)
        daemon_idle = tree_rss_kb(daemon.pid)
        g_secs, g_client, g_server, _ = timed(["git", "clone", "-q", f"git://127.0.0.1:{port}/bench.git",
                                               os.path.join(tmp, "git-clone")],
                                              server_roots=lambda: [daemon.pid], server_baseline=daemon_idle)

        # 3. Floor: index-pack of the same pack, then a checkout.
        pack = os.path.join(tmp, "all.pack")
        with open(pack, "wb") as f:
            subprocess.run(["git", "-C", source, "pack-objects", "--all", "--stdout", "-q"], stdout=f, check=True,
                           env=env(), input=b"")
        floor_dir = os.path.join(tmp, "floor")
        run(["git", "init", "-q", "-b", "main", floor_dir], env=env())
        head = run(["git", "-C", source, "rev-parse", "HEAD"], env=env()).stdout.strip()
        start = time.monotonic()
        with open(pack, "rb") as f:
            subprocess.run(["git", "-C", floor_dir, "index-pack", "--stdin"], stdin=f, check=True, env=env(),
                           stdout=subprocess.DEVNULL)
        run(["git", "-C", floor_dir, "update-ref", "refs/heads/main", head], env=env())
        run(["git", "-C", floor_dir, "reset", "-q", "--hard", "HEAD"], env=env())
        f_secs = time.monotonic() - start

        same = run(["git", "-C", os.path.join(tmp, "p2p-clone"), "rev-parse", "HEAD"], env=env()).stdout.strip() == head
        p_total, g_total = p_client + p_server, g_client + g_server
        print(f"full clone   p2pgit (relay, QUIC)  {p_secs:7.2f} s   peak RSS client {p_client / 1000:6.1f} MB + relay growth {p_server / 1000:6.1f} MB = {p_total / 1000:6.1f} MB   HEAD {'ok' if same else 'DIFFERENT'}")
        print(f"full clone   git daemon (git://)   {g_secs:7.2f} s   peak RSS client {g_client / 1000:6.1f} MB + daemon tree {g_server / 1000:6.1f} MB = {g_total / 1000:6.1f} MB")
        print(f"floor        index-pack + checkout {f_secs:7.2f} s")
        print(f"ratios: clone time vs git daemon {p_secs / g_secs:.2f}x (goal <= 1.0), vs floor {p_secs / f_secs:.2f}x (goal <= 1.15); "
              f"peak RSS vs git clone {p_total / max(g_total, 1):.2f}x (goal <= 1.5)")

        # 4. Incremental: 50 new commits, shared by A (restarted), relay replicates, B syncs;
        #    the same commits pushed to the git daemon's repository, the git clone fetches.
        a, _, _ = start_daemon(p2pgit, os.path.join(tmp, "a"), ["node", "--bootstrap", contact])
        procs.append(a)
        add_commits(source, 50, "inc")
        new_head = run(["git", "-C", source, "rev-parse", "HEAD"], env=env()).stdout.strip()
        time.sleep(1)
        run([p2pgit, "share", source], env=env(P2PGIT_HOME=os.path.join(tmp, "a")))
        wait_until(lambda: verify() and new_head in run(["git", "--git-dir", os.path.join(relay_home, "repos", repo_id[len("did:repo:"):] + ".git"),
                                                          "for-each-ref", "--format=%(objectname)"], env=env()).stdout,
                   120, "the relay to replicate the new commits")
        sync = json.loads(run([p2pgit, "sync", repo_id, "--json", "--bootstrap", contact], env=env(P2PGIT_HOME=b_home)).stdout)
        p_bytes = sync[0]["pack_bytes"]
        run(["git", "-C", source, "push", "-q", os.path.join(served, "bench.git"), "main"], env=env())
        git_clone = os.path.join(tmp, "git-clone")
        before = set(os.listdir(os.path.join(git_clone, ".git", "objects", "pack")))
        run(["git", "-C", git_clone, "-c", "fetch.unpackLimit=1", "fetch", "-q", "origin"], env=env())
        g_bytes = newest_pack_bytes(os.path.join(git_clone, ".git"), before)
        print(f"sync of 50 new commits: p2pgit {p_bytes} pack bytes, git fetch {g_bytes} pack bytes, ratio {p_bytes / max(g_bytes, 1):.2f}x (goal <= 1.2)")
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
