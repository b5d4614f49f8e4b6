"""Whole-process wall time and peak RSS of one command, repeated; stdlib only, Linux.

    python runtime/scripts/measure_cli.py [--runs 5] [--label NAME] -- CMD ARG...

Runs CMD under GNU `/usr/bin/time -v` RUNS times (after one unmeasured warm-up run that fills
the page cache) and prints the median and min of wall seconds and peak RSS (MiB) as one JSON
line, plus the median user+system CPU seconds (less sensitive to a busy machine). Used for the
on-device numbers in the runtime notes.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys

TIME = "/usr/bin/time"


def _measure(cmd: list[str]) -> tuple[float, float, int, float]:
    result = subprocess.run([TIME, "-v", *cmd], capture_output=True, text=True)
    wall = re.search(r"Elapsed \(wall clock\) time .*: (?:(\d+):)?(\d+):([\d.]+)", result.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    user = re.search(r"User time \(seconds\): ([\d.]+)", result.stderr)
    system = re.search(r"System time \(seconds\): ([\d.]+)", result.stderr)
    if not wall or not rss or not user or not system:
        raise SystemExit(f"measure: could not parse /usr/bin/time output:\n{result.stderr}")
    hours, minutes, seconds = wall.groups()
    total = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    cpu = float(user.group(1)) + float(system.group(1))
    return total, int(rss.group(1)) / 1024, result.returncode, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--label", default="")
    parser.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("give a command after --")
    _measure(cmd)
    samples = [_measure(cmd) for _ in range(args.runs)]
    codes = sorted({code for _, _, code, _ in samples})
    walls = [w for w, _, _, _ in samples]
    rsss = [r for _, r, _, _ in samples]
    cpus = [c for _, _, _, c in samples]
    print(
        json.dumps(
            {
                "label": args.label,
                "runs": args.runs,
                "exit_codes": codes,
                "wall_s_median": round(statistics.median(walls), 3),
                "wall_s_min": round(min(walls), 3),
                "cpu_s_median": round(statistics.median(cpus), 3),
                "peak_rss_mib_median": round(statistics.median(rsss), 1),
                "peak_rss_mib_max": round(max(rsss), 1),
                "cmd": " ".join(cmd),
            }
        )
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
