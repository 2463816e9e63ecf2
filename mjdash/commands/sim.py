"""``mjdash sim``: run the kie.ai simulator in the foreground."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from mjdash.sim.faults import FAULT_KINDS


def parse_fault(text: str) -> tuple[str, int, float]:
    """``KIND[:COUNT[:ARG]]``, e.g. ``500:3``, ``slow:1:5``, ``code:2:455``."""
    parts = text.split(":")
    kind = parts[0]
    if kind not in FAULT_KINDS:
        raise argparse.ArgumentTypeError(f"unknown fault {kind!r}; choose from {', '.join(FAULT_KINDS)}")
    try:
        count = int(parts[1]) if len(parts) > 1 else 1
        arg = float(parts[2]) if len(parts) > 2 else 0.0
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad fault {text!r}: use KIND[:COUNT[:ARG]]") from None
    return kind, count, arg


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 = ephemeral; default 8765)")
    p.add_argument("--seed", type=int, default=0, help="random seed (tasks and images are deterministic)")
    p.add_argument("--tasks", type=int, default=24, metavar="N", help="size of the demo batch (default 24)")
    p.add_argument("--ids-file", type=Path, help="write the demo batch's task IDs here, one per line")
    p.add_argument("--key", default="sim-key", help="the API key the simulator accepts (default sim-key)")
    p.add_argument("--failure-rate", type=float, default=0.15, help="share of tasks that fail (0..1)")
    p.add_argument("--speed", type=float, default=1.0, help="time compression (10 = ten times faster)")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to every API answer")
    p.add_argument("--rate-limit", type=float, help="requests/s beyond which it answers 429 with Retry-After")
    p.add_argument("--image-size", type=int, default=512, help="result image size in pixels")
    p.add_argument(
        "--fault",
        type=parse_fault,
        action="append",
        default=[],
        help="inject KIND[:COUNT[:ARG]] at start: " + ", ".join(FAULT_KINDS),
    )


def run(args: argparse.Namespace) -> int:
    from mjdash.sim.server import Simulator

    if not 0 <= args.failure_rate <= 1 or args.speed <= 0 or args.tasks < 0:
        print("mjdash sim: --failure-rate must be 0..1, --speed > 0, --tasks >= 0", file=sys.stderr)
        return 2
    try:
        sim = Simulator(
            api_key=args.key,
            seed=args.seed,
            speed=args.speed,
            latency=args.latency,
            rate_limit=args.rate_limit,
            failure_rate=args.failure_rate,
            image_size=args.image_size,
            port=args.port,
        )
    except OSError as exc:
        print(
            f"mjdash sim: cannot listen on 127.0.0.1:{args.port} ({exc.strerror}) — try --port 0",
            file=sys.stderr,
        )
        return 1
    for kind, count, arg in args.fault:
        sim.inject(kind, count, arg)
    task_ids = sim.demo_batch(args.tasks)
    if args.ids_file:
        args.ids_file.write_text("".join(f"{t}\n" for t in task_ids))
    print(f"kie.ai simulator on {sim.url} (key {args.key!r}, {len(task_ids)} tasks, speed x{args.speed})")
    print(f"  export MJDASH_BASE_URL={sim.url} KIE_API_KEY={args.key}")
    if not args.ids_file:
        for task_id in task_ids:
            print(task_id)
    sys.stdout.flush()
    with contextlib.suppress(KeyboardInterrupt):
        sim.serve_forever()
    return 0
