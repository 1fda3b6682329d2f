#!/usr/bin/env python3
"""Sample the trailguard daemons under a supervisor pid until it exits.

Prints, per stage (fetcher, parser, evaluator, notifier), the number of
processes seen, their total CPU seconds (user+system, last sample of each
pid) and their peak RSS (VmHWM), plus the total peak RSS.

    sample_procs.py SUPERVISOR_PID
"""
import os
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def children(pid):
    out = []
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
    fields = st[st.rfind(")") + 2:].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK
    hwm = 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) * 1024
    return name, cpu, hwm


def main():
    sup = int(sys.argv[1])
    seen = {}
    while os.path.exists(f"/proc/{sup}"):
        for pid in children(sup):
            s = sample(pid)
            if s:
                seen[pid] = s
        time.sleep(0.1)
    stages = {}
    for name, cpu, hwm in seen.values():
        stage = name.replace("trailguard-", "").split(":")[0]
        n, c, r = stages.get(stage, (0, 0.0, 0))
        stages[stage] = (n + 1, c + cpu, r + hwm)
    total = 0
    for stage in ("fetcher", "parser", "evaluator", "notifier"):
        n, c, r = stages.get(stage, (0, 0.0, 0))
        total += r
        print(f"bench: stage {stage:9s} processes={n} cpu={c:.2f}s peak_rss={r / 1048576:.1f} MiB")
    print(f"bench: total peak RSS {total / 1048576:.1f} MiB (target <= 300 MiB)")


if __name__ == "__main__":
    main()
