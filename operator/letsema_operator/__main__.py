"""``letsema-operator``: run kopf's loop cluster-wide with a liveness endpoint."""

from __future__ import annotations

import argparse
import logging

import kopf

import letsema_operator  # noqa: F401  - registers the handlers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="letsema-operator", description=__doc__)
    parser.add_argument("--liveness", default="http://0.0.0.0:8080/healthz",
                        help="kopf liveness endpoint (the chart's livenessProbe calls it)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    kopf.run(clusterwide=True, liveness_endpoint=args.liveness, standalone=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
