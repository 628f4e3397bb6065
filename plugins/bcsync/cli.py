"""`bin/bcsync`: a small dispatcher of subcommands; each command is a function taking parsed arguments."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from bcsync.registry import RegistryError, load_registry, mappings_directory
from bcsync.registry.render import registry_as_data, registry_as_text

Command = Callable[[argparse.Namespace], int]


def _mappings(args: argparse.Namespace) -> int:
    registry = load_registry(args.dir)
    if args.json:
        print(json.dumps(registry_as_data(registry), indent=2, ensure_ascii=False))
    else:
        print(registry_as_text(registry))
    return 0


def _mappings_validate(args: argparse.Namespace) -> int:
    directory = args.directory or args.dir
    registry = load_registry(directory)
    jobs = len(registry.jobs)
    print(f"{mappings_directory(directory)}: {len(registry.mappings)} mappings ({jobs} jobs) are valid")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bcsync", description="Business Central ↔ Dynamics 365 Sales sync")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    mappings = commands.add_parser("mappings", help="show or validate the integration table mappings")
    mappings.add_argument("--json", action="store_true", help="print normalized JSON instead of a table")
    mappings.add_argument(
        "--dir", help="mappings directory (default: $BCSYNC_MAPPINGS_DIR, else include/mappings)"
    )
    mappings.set_defaults(handler=_mappings)
    mapping_commands = mappings.add_subparsers(dest="mappings_command", metavar="ACTION")
    validate = mapping_commands.add_parser("validate", help="check the YAML; exit 1 listing every problem")
    validate.add_argument("directory", nargs="?", help="mappings directory to check")
    validate.set_defaults(handler=_mappings_validate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Command = args.handler
    try:
        return handler(args)
    except RegistryError as error:
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
