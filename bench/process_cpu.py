"""CPU seconds used by a process and its descendants, by role (Linux /proc), to see where a pipeline spends.

A role is named from the command line: the Python class a streamparse component runs, a JVM's main class, or the
executable (or `python -m` module). Only descendants of the given process count, so other work on the machine does not.
"""

import os
from collections import Counter
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a live process, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def role(pid: int) -> str:
    """A short name for what the process runs."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return "gone"
    argv = [a for a in argv if a]
    if any(a.endswith("streamparse_run") for a in argv):
        return next((a.rsplit(".", 1)[-1] for a in argv if a.startswith("topologies.")), "streamparse")
    if argv and Path(argv[0]).name == "java":
        mains = [a for a in argv[1:] if a.startswith(("org.", "kafka.", "com.")) and " " not in a]
        return "java " + (mains[0].rsplit(".", 1)[-1] if mains else "?")
    if "-m" in argv[:-1]:
        return argv[argv.index("-m") + 1]  # python -m milvus_lite ...
    return Path(argv[0]).name if argv else "?"


def cpu_by_role(root_pid: int) -> Counter[str]:
    """CPU seconds of root_pid's descendants (not root itself), summed by role."""
    stats = {int(p.name): s for p in Path("/proc").iterdir() if p.name.isdigit() and (s := _stat(int(p.name)))}
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    totals: Counter[str] = Counter()
    stack = list(children.get(root_pid, []))
    while stack:
        pid = stack.pop()
        totals[role(pid)] += stats[pid][1]
        stack.extend(children.get(pid, []))
    return totals
