"""Command line: parses arguments, builds Settings, runs a subcommand (or, later, the dashboard).

Heavy imports happen inside the branch that needs them: ``mjdash status`` never imports Textual.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from mjdash import __version__

EXAMPLES = """\
examples:
  mjdash status 4edb3c5f0aa5cc...          one task's state, prompt, times and results
  mjdash status --json ID1 ID2 | jq .      the same as JSON
  mjdash credits                           the account's credit balance
  mjdash summary --batch b1                progress, durations, failures with advice, stuck tasks
  my-batch-script | mjdash add --batch b1 -   watch every task ID the script prints
  mjdash ls --status failed                show the failures
  mjdash export --format csv --out all.csv everything known, prompts included
  mjdash resubmit --batch b1 --dry-run     what resubmitting b1's failures would send
  mjdash report --batch b1 --out b1-report a contact sheet of b1 that opens from disk
  mjdash serve                             the dashboard in a browser, on http://127.0.0.1:8000
  mjdash sim --port 0                      run the kie.ai simulator
  mjdash                                   the dashboard
  mjdash --demo                            the dashboard on the embedded simulator
"""


def _common(p: argparse.ArgumentParser, top: bool, request_timeout: bool = True) -> None:
    """Options accepted both before and after the subcommand."""
    default = None if top else argparse.SUPPRESS
    p.add_argument("--base-url", default=default, help="API base URL (default https://api.kie.ai)")
    p.add_argument("--config", default=default, metavar="FILE", help="config file (TOML)")
    p.add_argument("--db", default=default, metavar="FILE", help="watchlist database")
    if request_timeout:
        p.add_argument("--timeout", type=float, default=default, metavar="S", help="seconds per request")
    p.add_argument(
        "--retries", type=int, default=default, metavar="N", help="attempts per request for transient errors"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mjdash",
        description="Watch Midjourney tasks on the kie.ai API.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mjdash {__version__}")
    parser.add_argument("--demo", action="store_true", help="open the dashboard on the embedded simulator")
    parser.add_argument(
        "--images",
        choices=("auto", "tgp", "sixel", "halfcell", "none"),
        default="auto",
        help="how the dashboard draws thumbnails (default: auto-detect)",
    )
    parser.add_argument("--follow", metavar="FILE", help="dashboard: keep adding task IDs appended to FILE")
    parser.add_argument("--bell", action="store_true", help="dashboard: ring the terminal bell when tasks finish")
    parser.add_argument(
        "--notify", action="store_true", help="dashboard: desktop notifications (done, failures, stuck, credits)"
    )
    _common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    status = sub.add_parser("status", help="fetch tasks once and print their state")
    status.add_argument("--json", action="store_true", help="one JSON array on stdout")
    status.add_argument("task_ids", nargs="+", metavar="TASK_ID")
    _common(status, top=False)

    summary = sub.add_parser("summary", help="a batch at a glance: progress, durations, failures, stuck, credits")
    summary.add_argument("--batch", metavar="NAME", help="only this batch")
    summary.add_argument("--json", action="store_true", help="one JSON object on stdout")
    summary.add_argument("--offline", action="store_true", help="do not ask kie.ai for the credit balance")
    _common(summary, top=False)

    credits = sub.add_parser("credits", help="the account's credit balance")
    credits.add_argument("--json", action="store_true", help='{"credits": N, "checked_at": ISO} on stdout')
    _common(credits, top=False)

    add = sub.add_parser("add", help="add task IDs to the watchlist (or - for free text on stdin)")
    add.add_argument("task_ids", nargs="*", metavar="ID", help="task IDs, or - to pull IDs out of stdin")
    add.add_argument("--batch", metavar="NAME", help="batch label for these tasks")
    add.add_argument("--note", metavar="TEXT", help="a note kept with each task")
    add.add_argument("--follow", metavar="FILE", help="keep reading FILE as lines are appended (like tail -F)")
    _common(add, top=False)

    rm = sub.add_parser("rm", help="remove tasks from the watchlist")
    rm.add_argument("task_ids", nargs="*", metavar="ID")
    rm.add_argument("--batch", metavar="NAME", help="remove every task of this batch")
    rm.add_argument("--finished", action="store_true", help="remove tasks in a final state")
    _common(rm, top=False)

    ls = sub.add_parser("ls", help="list the watchlist (from the database; no network)")
    ls.add_argument("--json", action="store_true", help="a JSON array of objects")
    ls.add_argument("--status", metavar="S[,S…]", help="only these states (or 'final')")
    ls.add_argument("--batch", metavar="NAME", help="only this batch")
    ls.add_argument("--expiring", action="store_true", help="only unsaved results that expire within 48 hours")
    _common(ls, top=False)

    export = sub.add_parser("export", help="everything known per task, as CSV or JSON")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--out", metavar="FILE", help="write here (atomically) instead of stdout")
    export.add_argument("--status", metavar="S[,S…]", help="only these states")
    export.add_argument("--batch", metavar="NAME", help="only this batch")
    _common(export, top=False)

    wait = sub.add_parser("wait", help="poll tasks until every one is final (exit 0 when all succeeded)")
    wait.add_argument("task_ids", nargs="*", metavar="ID")
    wait.add_argument("--batch", metavar="NAME", help="wait for every task of this batch")
    wait.add_argument(
        "--timeout", dest="wait_timeout", type=float, metavar="S", help="give up after S seconds (exit 124)"
    )
    wait.add_argument("--rate", type=float, metavar="R", help="requests per second (default 2)")
    wait.add_argument("--concurrency", type=int, metavar="C", help="requests in flight (default 4)")
    wait.add_argument("--jsonl", action="store_true", help="one JSON object per event on stdout, flushed per line")
    _common(wait, top=False, request_timeout=False)

    download = sub.add_parser("download", help="save finished tasks' result files to a folder")
    download.add_argument("task_ids", nargs="*", metavar="ID")
    download.add_argument("--batch", metavar="NAME", help="every task of this batch")
    download.add_argument("--all", action="store_true", help="every task in the watchlist")
    download.add_argument("--out", required=True, metavar="DIR", help="folder to save into (<taskId>_<n>.<ext>)")
    _common(download, top=False)

    resubmit = sub.add_parser(
        "resubmit", help="send failed tasks again with their own parameters (spends credits; asks first)"
    )
    resubmit.add_argument("task_ids", nargs="*", metavar="ID")
    resubmit.add_argument("--batch", metavar="NAME", help="the failed tasks of this batch")
    resubmit.add_argument("--all", action="store_true", help="every failed task in the watchlist")
    resubmit.add_argument("--yes", action="store_true", help="do not ask (needed when stdin is not a terminal)")
    resubmit.add_argument("--dry-run", action="store_true", help="print each body it would send; send nothing")
    resubmit.add_argument("--again", action="store_true", help="also tasks already resubmitted, or of unknown outcome")
    resubmit.add_argument(
        "--include-moderation", action="store_true", help="also tasks that failed moderation (they may fail again)"
    )
    resubmit.add_argument("--no-callback", action="store_true", help="leave callBackUrl out of the bodies")
    _common(resubmit, top=False)

    report = sub.add_parser("report", help="the batch as a web page that stands on its own (thumbnails, no network)")
    report.add_argument("task_ids", nargs="*", metavar="ID")
    report.add_argument("--batch", metavar="NAME", help="only this batch")
    report.add_argument("--status", metavar="S[,S…]", help="only these states")
    report.add_argument("--out", required=True, metavar="DIR", help="folder for index.html, thumbs/ and report.json")
    report.add_argument("--open", action="store_true", help="open the page in the browser when it is written")
    report.add_argument("--offline", action="store_true", help="do not ask kie.ai for the credit balance")
    _common(report, top=False)

    serve = sub.add_parser("serve", help="the dashboard in a web browser (textual-serve)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--public", action="store_true", help="allow a non-loopback --host: anyone who reaches it can act"
    )
    _common(serve, top=False)

    from mjdash.commands import sim as sim_command

    sim = sub.add_parser("sim", help="run the kie.ai simulator (demo and test server)")
    sim_command.add_arguments(sim)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from mjdash.commands.common import EXIT_FAILED, EXIT_USAGE, OutputError, UsageError, err
    from mjdash.config import ConfigError, load_settings
    from mjdash.core.errors import FollowError, StoreError

    try:
        if args.command == "sim":
            from mjdash.commands import sim

            return sim.run(args)
        flags = {
            "timeout": args.timeout,
            "retry_attempts": args.retries,
            "rate": getattr(args, "rate", None),
            "concurrency": getattr(args, "concurrency", None),
        }
        settings = load_settings(config_path=args.config, base_url=args.base_url, db=args.db, **flags)
        for warning in settings.warnings:
            err(f"warning: {warning}")
        if args.command is None:
            from pathlib import Path

            from mjdash.ui.factory import run_dashboard

            follow = Path(args.follow).expanduser() if args.follow else None
            if args.notify:
                settings = settings.with_overrides(notify=True)
            return run_dashboard(settings, images=args.images, demo=args.demo, follow=follow, bell=args.bell)
        if args.command == "summary":
            from mjdash.commands import summary

            return summary.run(settings, args.batch, args.json, args.offline)
        if args.command == "credits":
            from mjdash.commands import credits

            return credits.run(settings, args.json)
        if args.command == "status":
            from mjdash.commands import status

            return status.run(settings, args.task_ids, args.json)
        from mjdash.commands import watchlist

        if args.command == "add":
            if args.follow:
                if args.task_ids:
                    raise UsageError("give either task IDs or --follow FILE, not both")
                return watchlist.follow(settings, args.follow, args.batch)
            return watchlist.add(settings, args.task_ids, args.batch, args.note, sys.stdin)
        if args.command == "rm":
            return watchlist.rm(settings, args.task_ids, args.batch, args.finished)
        if args.command == "ls":
            return watchlist.ls(settings, args.json, args.status, args.batch, sys.stdout, args.expiring)
        if args.command == "wait":
            from mjdash.commands import wait as wait_command

            return wait_command.run(
                settings, args.task_ids, args.batch, args.wait_timeout, args.rate, args.concurrency, jsonl=args.jsonl
            )
        if args.command == "download":
            from mjdash.commands import download as download_command

            return download_command.run(settings, args.task_ids, args.batch, args.all, args.out)
        if args.command == "resubmit":
            from mjdash.commands import resubmit as resubmit_command

            return resubmit_command.run(
                settings,
                args.task_ids,
                args.batch,
                args.all,
                yes=args.yes,
                dry_run=args.dry_run,
                again=args.again,
                include_moderation=args.include_moderation,
                no_callback=args.no_callback,
            )
        if args.command == "report":
            from mjdash.commands import report as report_command

            return report_command.run(
                settings,
                args.task_ids,
                args.batch,
                args.status,
                args.out,
                open_after=args.open,
                offline=args.offline,
            )
        if args.command == "serve":
            from mjdash.commands import serve as serve_command

            return serve_command.run(settings, args.host, args.port, public=args.public, config=args.config)
        if args.command == "export":
            return watchlist.export(settings, args.format, args.out, args.batch, args.status)
    except (UsageError, ConfigError) as exc:
        err(str(exc))
        return EXIT_USAGE
    except (StoreError, FollowError, OutputError) as exc:
        err(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `mjdash ls | head`: the reader has what it wanted; say nothing, flush nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    parser.error(f"unknown command {args.command!r}")
    return EXIT_USAGE  # pragma: no cover - parser.error exits


if __name__ == "__main__":
    sys.exit(main())
