"""The ``--json PATH`` and ``--out DIR`` outputs of ``droiz demo``, ``droiz bench sim`` and
``droiz bench drbo``: declared once for their parsers, and proven writable by creating them
before any work (:func:`droiz.validate.claim_file`, :func:`~droiz.validate.claim_dir`); the
command removes them again if it fails."""

from __future__ import annotations

import argparse

from droiz.cli._errors import path_arg
from droiz.validate import Claim, claim_dir, claim_file


def add_outputs(p: argparse.ArgumentParser, what: str = "the per-seed results") -> None:
    """Add ``--json PATH`` and ``--out DIR`` (an empty path is refused by argparse)."""
    p.add_argument("--json", type=path_arg, metavar="PATH", help=f"write {what} as JSON")
    p.add_argument("--out", type=path_arg, metavar="DIR", help="write results.json and plots here")


def claim_outputs(args: argparse.Namespace) -> tuple[Claim | None, Claim | None]:
    """The claims of ``args.json`` and ``args.out`` (``None`` where not given)."""
    json_claim = None if args.json is None else claim_file(args.json, "--json")
    try:
        out_claim = None if args.out is None else claim_dir(args.out, "--out")
    except BaseException:
        if json_claim is not None:
            json_claim.release()
        raise
    return json_claim, out_claim
