#!/usr/bin/env python3
"""Sample the trailguard daemons under a supervisor pid until it exits.

Prints, per stage (fetcher, parser, evaluator, notifier), the number of
processes seen, their total CPU seconds (user+system, last sample of each
pid) and their peak RSS (VmHWM), plus the total peak RSS and how much of
it is shared memory (the peak RssShmem: batch segments, whose pages count
in the RSS of the parser and of every evaluator that maps them).

    sample_procs.py SUPERVISOR_PID [RECORDS]

With RECORDS, CPU seconds are also given per million records.
"""
import os
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")
STAGES = ("fetcher", "parser", "evaluator", "notifier")


def children(pid):
    # /proc/PID/task/TID/children is cheap; scanning all of /proc every
    # tick cost a noticeable share of a 2-core machine
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(c) for c in f.read().split())
        return out
    except OSError:
        pass
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read()
        except OSError:
            continue
        rpar = st.rfind(")")
        fields = st[rpar + 2:].split()
        if int(fields[1]) == pid:
            out.append(int(p))
    return out


def sample(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
    except OSError:
        return None
    name = st[st.find("(") + 1:st.rfind(")")]
    try:
        # comm is cut at 15 characters ("trailguard-pars"): use argv[0]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv0 = f.read().split(b"\0")[0].decode(errors="replace")
        if argv0:
            name = os.path.basename(argv0)
    except OSError:
        pass
    fields = st[st.rfind(")") + 2:].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK
    hwm = shm = 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) * 1024
        elif line.startswith("RssShmem:"):
            shm = int(line.split()[1]) * 1024
    return name, cpu, hwm, shm


def main():
    sup = int(sys.argv[1])
    seen = {}
    while os.path.exists(f"/proc/{sup}"):
        for pid in children(sup):
            s = sample(pid)
            if s:
                # keep the best of each field: an exiting process (zombie)
                # has lost its cmdline and VmHWM but still shows its CPU
                old = seen.get(pid)
                if old:
                    # before exec a child still has the supervisor's name
                    name = s[0] if s[0].startswith("trailguard-") else old[0]
                    s = (name, max(old[1], s[1]), max(old[2], s[2]), max(old[3], s[3]))
                seen[pid] = s
        time.sleep(0.25)   # light: the sampler shares the 2 cores it measures
    stages = {}
    for name, cpu, hwm, shm in seen.values():
        short = name.replace("trailguard-", "").split(":")[0]
        # a zombie has no cmdline left: fall back to the cut comm ("pars")
        stage = next((s for s in STAGES if short and s.startswith(short)), short)
        n, c, r, m = stages.get(stage, (0, 0.0, 0, 0))
        stages[stage] = (n + 1, c + cpu, r + hwm, m + shm)
    records = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    total = shared = 0
    cpu = 0.0
    for stage in STAGES:
        n, c, r, m = stages.get(stage, (0, 0.0, 0, 0))
        total += r
        shared += m
        cpu += c
        per = f" ({c * 1e6 / records:.2f}s per 1M records)" if records else ""
        print(f"bench: stage {stage:9s} processes={n} cpu={c:.2f}s{per} "
              f"peak_rss={r / 1048576:.1f} MiB (shared {m / 1048576:.1f})")
    per = f" ({cpu * 1e6 / records:.2f}s per 1M records)" if records else ""
    print(f"bench: total cpu {cpu:.2f}s{per}")
    print(f"bench: total peak RSS {total / 1048576:.1f} MiB (target <= 300 MiB); "
          f"{shared / 1048576:.1f} MiB of it shared memory, counted once per "
          f"process mapping it")


if __name__ == "__main__":
    main()
