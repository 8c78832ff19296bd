"""A/B of the inbox worker: this working tree against another commit, in one run. One JSON line.

On a shared host the pace wanders by ±20 % from one minute to the next, so a change of a few
per cent is only visible in paired rounds: each round runs the worker phase of
``bench/pipeline.py`` (N hotline calls stored by intake, then ``Workers.run_inbox_once`` until
none is pending) once for each side, in a fresh process and a fresh database, alternating which
side goes first. Printed: per side the median events/s and the median event-loop CPU time per
event, and per round the ratio of this tree to the base (``ratio_events_per_s``,
``ratio_loop_cpu``: medians, minimum and maximum). The base is checked out with
``git worktree`` into a temporary folder, removed afterwards.

    .venv/bin/python bench/worker_ab.py --base HEAD~1 [--rounds 6] [--events 20000]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one(root: Path, events: int) -> tuple[float, float]:
    """(events/s, loop CPU µs per event) of the worker phase, run from ``root`` in a child."""
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(root),
                          "--events", str(events)], check=True, capture_output=True, text=True,
                         cwd=tempfile.gettempdir())
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    return figures["events_per_s"], figures["loop_cpu_us_per_event"]


def child(root: Path, events: int) -> None:
    sys.path.insert(0, str(root))
    import bench.pipeline as pipeline  # noqa: PLC0415 - the tree given, not this one

    if not Path(pipeline.__file__).resolve().is_relative_to(root.resolve()):
        raise SystemExit(f"bench.pipeline came from {pipeline.__file__}, not from {root}")
    with tempfile.TemporaryDirectory() as folder:
        settings = pipeline.write_settings(Path(folder), Path(folder) / "hub.db", None)
        result = asyncio.run(pipeline.throughput(settings, events))
    if result["left"]:
        raise SystemExit(f"{result['left']} events left pending")
    print(json.dumps({"events_per_s": round(events / result["seconds"], 1),
                      "loop_cpu_us_per_event": round(result["loop_cpu_s"] / events * 1e6, 1)}))


def spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD", help="the commit to compare with (default HEAD)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.events)
        return 0
    base_rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.base],
                              check=True, capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(base),
                        base_rev], check=True)
        try:
            runs: dict[str, list[tuple[float, float]]] = {"base": [], "tree": []}
            for n in range(args.rounds):
                sides = [("base", base), ("tree", ROOT)]
                for name, root in (sides if n % 2 == 0 else sides[::-1]):
                    runs[name].append(one(root, args.events))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                           check=False)
    pairs = list(zip(runs["base"], runs["tree"], strict=True))
    print(json.dumps({
        "bench": "worker_ab", "base": base_rev, "rounds": args.rounds, "events": args.events,
        "base_events_per_s": round(statistics.median(b[0] for b in runs["base"])),
        "tree_events_per_s": round(statistics.median(t[0] for t in runs["tree"])),
        "base_loop_cpu_us_per_event": round(statistics.median(b[1] for b in runs["base"])),
        "tree_loop_cpu_us_per_event": round(statistics.median(t[1] for t in runs["tree"])),
        "ratio_events_per_s": spread([t[0] / b[0] for b, t in pairs]),
        "ratio_loop_cpu": spread([t[1] / b[1] for b, t in pairs]),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
