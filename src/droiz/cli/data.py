"""``droiz data download``, ``droiz data verify`` and ``droiz data path``."""

from __future__ import annotations

import argparse
import sys

from droiz.cli._errors import help_without_action


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``data`` command and its actions (``droiz.tasks`` is imported only when run)."""
    parser = subparsers.add_parser("data", help="download and check the benchmark data")
    help_without_action(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")

    fetch = actions.add_parser(
        "download", help="fetch the task files from their upstream repositories and verify them"
    )
    fetch.add_argument(
        "--dest", default=None, help="target folder (default: the user data folder of droiz)"
    )
    fetch.add_argument(
        "--base-url",
        default=None,
        help="server with the {owner}/{repo}/{commit}/{path} layout (default: GitHub's raw files)",
    )
    fetch.add_argument("--timeout", type=float, default=60.0, help="seconds per connection")
    fetch.set_defaults(func=run_download)

    check = actions.add_parser("verify", help="check a data directory against SHA256SUMS")
    check.add_argument("--data-dir", default=None, help="data directory (default: resolved)")
    check.set_defaults(func=run_verify)

    where = actions.add_parser("path", help="print the data directory droiz would use")
    where.add_argument("--data-dir", default=None)
    where.set_defaults(func=run_path)


def run_download(args: argparse.Namespace) -> int:
    """Download and verify every data file."""
    from droiz.tasks.download import DEFAULT_BASE_URL, download
    from droiz.validate import check_dir_path, check_positive_number

    check_positive_number("--timeout", args.timeout, 3600)
    if args.dest is not None:
        check_dir_path(args.dest, "--dest")
    result = download(args.dest, args.base_url or DEFAULT_BASE_URL, timeout=args.timeout)
    mb = result.bytes / 1e6
    print(
        f"{result.fetched} file(s) downloaded ({mb:.1f} MB), {result.present} already present; "
        f"all verified against SHA256SUMS in {result.dest}"
    )
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Check every data file's checksum; exit 1 if any is missing or wrong."""
    from droiz.tasks.datadir import resolve_data_dir
    from droiz.tasks.download import verify

    root = resolve_data_dir(args.data_dir)
    problems = verify(root)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print(f"droiz data verify: {len(problems)} problem(s) in {root}", file=sys.stderr)
        return 1
    print(f"all data files in {root} match SHA256SUMS")
    return 0


def run_path(args: argparse.Namespace) -> int:
    """Print the resolved data directory."""
    from droiz.tasks.datadir import resolve_data_dir

    print(resolve_data_dir(args.data_dir))
    return 0
