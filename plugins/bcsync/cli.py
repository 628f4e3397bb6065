"""`bin/bcsync`: a small dispatcher of subcommands; each command is a function taking parsed arguments."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from bcsync.registry import Registry, RegistryError, load_registry, mappings_directory
from bcsync.registry.online import OnlineMode, ServiceCheck, check_against_services
from bcsync.registry.render import registry_as_data, registry_as_text

if TYPE_CHECKING:
    from bcsync.store import CouplingStore

Command = Callable[[argparse.Namespace], int]
_URL = "http://127.0.0.1:8080"


def _mappings(args: argparse.Namespace) -> int:
    registry = load_registry(args.dir)
    _warn_broken(registry)
    if args.json:
        print(json.dumps(registry_as_data(registry), indent=2, ensure_ascii=False))
    else:
        print(registry_as_text(registry))
    return 0


def _mappings_validate(args: argparse.Namespace) -> int:
    """Exit 1 when a file, or a name checked against a service, is wrong; the list goes to stderr."""
    directory = args.directory or args.dir
    registry = load_registry(directory)
    failed = bool(registry.problems)
    if failed:
        print(RegistryError(registry.problems), file=sys.stderr)
        _print_consequences(registry)
    else:
        jobs = len(registry.jobs)
        print(f"{mappings_directory(directory)}: {len(registry.mappings)} mappings ({jobs} jobs) are valid")
    for check in check_against_services(registry, args.online):
        failed |= _report_service_check(check, args.online)
    return 1 if failed else 0


def _print_consequences(registry: Registry) -> None:
    """The mappings that are fine themselves but need a broken one: fixing the list above fixes them."""
    roots = set(registry.problems)
    lines = [f"  {p}" for b in registry.broken for p in b.problems if p not in roots]
    if lines:
        print("Also not loaded until those are fixed:", *lines, sep="\n", file=sys.stderr)


def _report_service_check(check: ServiceCheck, mode: OnlineMode) -> bool:
    """Print one service's outcome; whether it fails the validation."""
    where = f"{check.service} (connection {check.conn_id})"
    if check.skipped:
        print(f"{where}: names not checked online: {check.skipped}")
        return False
    if check.failed:
        print(f"{where}: names not checked online: cannot read the metadata: {check.failed}", file=sys.stderr)
        return mode is OnlineMode.ONLINE  # asked for explicitly, so not checking is a failure
    if not check.problems:
        print(f"{where}: every table, entity set and field named in the mappings exists")
        return False
    count = len(check.problems)
    print(f"{count} name{'s' if count != 1 else ''} not found in {where}:", file=sys.stderr)
    print(*(f"  {p}" for p in check.problems), sep="\n", file=sys.stderr)
    return True


def _warn_broken(registry: Registry) -> None:
    """Commands keep working on the usable mappings; say on stderr which are not loaded."""
    if registry.broken:
        names = ", ".join(f"{b.label} ({b.file})" for b in registry.broken)
        print(f"bcsync: not loaded: {names}; see 'bcsync mappings validate'", file=sys.stderr)


# ---- operator commands on the coupling store ----
# `bcsync.operations` (pandas, SQLAlchemy, and Airflow for the connection) is imported inside the
# handlers, so `bcsync mappings` stays quick.


@contextmanager
def _store(args: argparse.Namespace) -> Iterator[CouplingStore]:
    """The store for the command, with every log line of the reading sent to stderr."""
    from bcsync.operations import open_store

    if args.store is None:
        import airflow.sdk  # noqa: F401  # configures Airflow's logging now, so it can be re-pointed below
    with _logs_on_stderr():
        store = open_store(args.store)
        try:
            yield store
        finally:
            store.dispose()


@contextmanager
def _logs_on_stderr() -> Iterator[None]:
    """Airflow's logging writes to stdout; stdout here is the command's output (`--json | jq`), so the
    root logger's stdout handlers (Alembic's "Context impl …", the store's notes) write to stderr
    meanwhile. Restored after, since `main` also runs inside other processes (tests)."""
    moved = [
        (handler, handler.stream)
        for handler in logging.getLogger().handlers
        if type(handler) is logging.StreamHandler and handler.stream in (sys.stdout, sys.__stdout__)
    ]
    for handler, _ in moved:
        handler.setStream(sys.stderr)
    try:
        yield
    finally:
        for handler, stream in moved:
            handler.setStream(stream)


def _job_name(args: argparse.Namespace) -> str | None:
    """The store's name for the JOB argument (BC's name or an alias), or None when it was omitted.

    A broken mapping's name is accepted: its jobs, errors and skipped records are still in the store.
    """
    from bcsync.operations import OperatorError, resolve_job

    if args.job is None:
        return None
    registry = load_registry()
    try:
        return resolve_job(registry, args.job).name
    except OperatorError:
        if broken := registry.broken_job_name(args.job):
            print(
                f"bcsync: mapping {broken} is broken and not loaded, so its job does not run", file=sys.stderr
            )
            return broken
        raise


def _print_json(records: Any) -> None:
    from bcsync.operations import as_json_value

    print(json.dumps(records, indent=2, ensure_ascii=False, default=as_json_value))


def _jobs(args: argparse.Namespace) -> int:
    from bcsync.operations import JOB_COLUMNS, job_log, render_table

    mapping = _job_name(args)
    with _store(args) as store:
        records = job_log(store, mapping, args.limit)
    if args.json:
        _print_json(records)
    elif records:
        print(render_table(JOB_COLUMNS, records))
    else:
        print(f"No synchronization jobs recorded{f' for {mapping}' if mapping else ''}.")
    return 0


def _errors(args: argparse.Namespace) -> int:
    from bcsync.operations import ERROR_COLUMNS, record_errors, render_table

    if args.delete_older_than is not None:
        return _delete_old_entries(args)
    mapping = _job_name(args)
    with _store(args) as store:
        records = record_errors(store, mapping, args.direction)
    if args.json:
        _print_json(records)
    elif records:
        print(render_table(ERROR_COLUMNS, records))
    else:
        scope = " ".join(filter(None, [mapping, args.direction and args.direction.value]))
        print(f"No open synchronization errors{f' for {scope}' if scope else ''}.")
    return 0


def _skipped(args: argparse.Namespace) -> int:
    from bcsync.operations import SKIPPED_COLUMNS, render_table, skipped_records

    mapping = _job_name(args)
    assert mapping is not None  # JOB is required for this command
    with _store(args) as store:
        records = skipped_records(store, mapping)
    if args.json:
        _print_json(records)
    elif records:
        print(render_table(SKIPPED_COLUMNS, records))
    else:
        print(f"No skipped records for {mapping}.")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from bcsync.operations import restore, restore_message

    mapping = _job_name(args)
    assert mapping is not None  # JOB is required for this command
    with _store(args) as store:
        outcome = restore(store, mapping, bc_ids=args.bc_id, crm_ids=args.crm_id, everything=args.all)
    if outcome.restored:
        print(restore_message(outcome.restored))
    elif args.all:
        print(f"There are no skipped records for {mapping} to restore.")
    for what in outcome.not_coupled:
        print(f"bcsync restore: {what} is not coupled in {mapping}", file=sys.stderr)
    for what in outcome.not_skipped:
        print(f"bcsync restore: {what} is coupled in {mapping} but not skipped", file=sys.stderr)
    if outcome.unmatched:
        if not outcome.restored:
            print("No records have been restored for synchronization.", file=sys.stderr)
        return 1  # a given id matched nothing: scripts must notice
    return 0


def _delete_old_entries(args: argparse.Namespace) -> int:
    from bcsync.operations import delete_old_entries

    mapping = _job_name(args)
    with _store(args) as store:
        print(delete_old_entries(store, args.delete_older_than, mapping))
    return 0


# ---- manual record actions, each an Airflow DAG run ----


def _action(args: argparse.Namespace) -> int:
    """Trigger the action's DAG run through Airflow's REST API; with --wait, print its end and note.
    Exit 0 when triggered (or the run succeeded), 1 when the run failed, 2 for a bad request."""
    from bcsync.actions.catalog import ActionError, action_request
    from bcsync.airflow_runs import AirflowRunError, AirflowRuns

    options = {name: value for name, value in _action_options(args).items() if value is not None}
    try:
        dag_id, conf = action_request(args.action, args.job, args.records, **options)
    except ActionError as refused:
        print(f"bcsync {args.command}: {refused}", file=sys.stderr)
        return 2
    airflow = AirflowRuns.from_environment(args.airflow_url)
    try:
        run_id = airflow.trigger(dag_id, conf, note=args.note)
        print(f"Triggered {dag_id} run {run_id} ({conf.get('job', args.job)}: {', '.join(args.records)}).")
        if not args.wait:
            return 0
        run = airflow.wait(dag_id, run_id, timeout=args.timeout)
    except AirflowRunError as error:
        print(f"bcsync {args.command}: {error}", file=sys.stderr)
        return 1
    print(f"{dag_id} run {run_id}: {run['state']}")
    if run.get("note"):
        print(run["note"])
    return 0 if run["state"] == "success" else 1


def _action_options(args: argparse.Namespace) -> dict[str, Any]:
    """The action's options from its command's arguments (names as in the actions catalog)."""
    names = ("counterpart", "side", "synchronize_after", "direction", "match_fields", "case_sensitive")
    options = {name: getattr(args, name, None) for name in (*names, "create_new_if_no_match")}
    if getattr(args, "sync_after", None):  # couple: --sync-after To|From is "synchronize after" + direction
        options.update(synchronize_after=True, direction=args.sync_after)
    return options


def _guid(text: str) -> str:
    """A record id as the store keeps it (lower case, hyphens, no braces); checked before any I/O."""
    from bcsync.operations import normalize_guid

    try:
        return normalize_guid(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _direction(text: str) -> Any:
    from bcsync.operations import parse_direction

    try:
        return parse_direction(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of days (0 or more), got {text!r}")
    return value


def _unique(ids: list[str] | None) -> list[str]:
    return list(dict.fromkeys(ids or []))


def _add_store_commands(commands: Any) -> None:
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument(
        "--store",
        metavar="URL",
        help="coupling store URL, e.g. sqlite:////var/lib/bcsync/store.db "
        "(default: the Airflow Connection bcsync_store, i.e. $AIRFLOW_CONN_BCSYNC_STORE)",
    )
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON records instead of a table")
    job_help = "job name or alias, e.g. CUSTOMER (see 'bcsync mappings')"

    jobs = commands.add_parser(
        "jobs", parents=[store, as_json], help="the synchronization job log, newest first"
    )
    jobs.add_argument("job", nargs="?", metavar="JOB", help=job_help)
    jobs.add_argument("--limit", type=_positive, default=100, metavar="N", help="at most N jobs (100)")
    jobs.set_defaults(handler=_jobs)

    errors = commands.add_parser(
        "errors", parents=[store, as_json], help="open per-record synchronization errors, oldest first"
    )
    errors.add_argument("job", nargs="?", metavar="JOB", help=job_help)
    errors.add_argument(
        "--direction", type=_direction, metavar="To|From", help="only errors of this direction"
    )
    errors.set_defaults(handler=_errors)

    skipped = commands.add_parser(
        "skipped", parents=[store, as_json], help="the job's skipped records (BC's CRM Skipped Records)"
    )
    skipped.add_argument("job", metavar="JOB", help=job_help)
    skipped.set_defaults(handler=_skipped)

    restore = commands.add_parser(
        "restore", parents=[store], help="restore skipped records for synchronization"
    )
    restore.add_argument("job", metavar="JOB", help=job_help)
    which = restore.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every skipped record of the job")
    which.add_argument("--bc-id", nargs="+", action="extend", type=_guid, metavar="ID", help="BC SystemIds")
    which.add_argument(
        "--crm-id", nargs="+", action="extend", type=_guid, metavar="ID", help="Dataverse row ids"
    )
    restore.set_defaults(handler=_restore)

    errors.add_argument(
        "--delete-older-than",
        type=_non_negative,
        metavar="DAYS",
        help="delete errors and job log entries older than DAYS days, keeping those skipped records "
        "reference (BC's Delete Entries), instead of listing the errors",
    )


def _add_action_commands(commands: Any) -> None:
    """One command per manual record action; each triggers the action's DAG run."""
    run = argparse.ArgumentParser(add_help=False)
    run.add_argument("job", metavar="JOB", help="job name or alias, e.g. CUSTOMER")
    run.add_argument("--wait", action="store_true", help="wait for the run to finish and print its note")
    run.add_argument("--timeout", type=_positive, default=600, metavar="S", help="--wait at most S seconds")
    run.add_argument("--note", help="a note for the run (shown above bcsync's counters)")
    run.add_argument(
        "--airflow-url",
        metavar="URL",
        help=f"Airflow's API server (default $BCSYNC_AIRFLOW_URL, else {_URL})",
    )
    records = "records: BC No. or Code, Sales name or number, or the id of either side"
    side = {"choices": ["bc", "crm"], "help": "bc: Business Central records; crm: Sales records"}

    def command(name: str, action: str, help_text: str, *, many: bool = True) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, parents=[run], help=help_text)
        parser.add_argument("records", nargs="+" if many else 1, metavar="RECORD", help=records)
        parser.set_defaults(handler=_action, action=action)
        return parser

    couple = command("couple", "couple", "couple a record to a record of the other side", many=False)
    couple.add_argument(
        "--to", dest="counterpart", required=True, metavar="RECORD", help="the other side's record"
    )
    couple.add_argument("--side", default="bc", **side)
    couple.add_argument(
        "--sync-after", type=_direction, metavar="To|From", help="synchronize right after, in this direction"
    )
    match = command("match-couple", "match_couple", "match-based coupling of BC records")
    match.add_argument(
        "--fields", dest="match_fields", nargs="+", metavar="FIELD", help="BC fields to match on"
    )
    match.add_argument(
        "--case-sensitive", action="store_true", default=None, help="compare text case-sensitively"
    )
    match.add_argument("--create-new", dest="create_new_if_no_match", action="store_true", default=None,
                       help="create the records without a match in Sales")  # fmt: skip
    match.add_argument("--sync-after", dest="synchronize_after", action="store_true", default=None,
                       help="synchronize the pairs coupled (default: the mapping's setting)")  # fmt: skip
    command("uncouple", "uncouple", "uncouple records (and reset their Sales company)")
    command("delete-coupling", "delete_coupling", "delete the couplings of records")
    delete = command(
        "delete-coupled-record", "delete_coupled_record", "delete the coupled record of one side"
    )
    delete.add_argument("--side", required=True, **side)
    create = command("create-new", "create_new", "create records on the other side and couple them")
    create.add_argument("--side", default="bc", **side)
    sync = command("sync-now", "synchronize_now", "synchronize records now (forced; clears Skipped)")
    sync.add_argument("--direction", type=_direction, metavar="To|From", help="only this direction")
    command("restore-records", "restore", "restore skipped records; re-create a deleted counterpart")


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
    validate = mapping_commands.add_parser(
        "validate",
        help="check the YAML, and the names in it against the services' metadata when their connections "
        "are set; exit 1 listing every problem",
    )
    validate.add_argument("directory", nargs="?", help="mappings directory to check")
    online = validate.add_mutually_exclusive_group()
    online.add_argument(
        "--online",
        dest="online",
        action="store_const",
        const=OnlineMode.ONLINE,
        default=OnlineMode.AUTO,
        help="check names against both services, looking the connections up in Airflow; fail if it cannot "
        "(default: only for connections set as AIRFLOW_CONN_BC_DEFAULT / AIRFLOW_CONN_DATAVERSE_DEFAULT)",
    )
    online.add_argument(
        "--offline", dest="online", action="store_const", const=OnlineMode.OFFLINE, help="check the YAML only"
    )
    validate.set_defaults(handler=_mappings_validate)

    _add_store_commands(commands)
    _add_action_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if "bc_id" in args:
        args.bc_id, args.crm_id = _unique(args.bc_id), _unique(args.crm_id)
    handler: Command = args.handler
    try:
        return handler(args)
    except RegistryError as error:
        print(error, file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `bcsync jobs | head`: the reader left; exit quietly instead of a traceback on flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as error:
        code = _operator_error_code(error)
        if code is None:
            raise
        print(f"bcsync {args.command}: {error}", file=sys.stderr)
        return code


def _operator_error_code(error: Exception) -> int | None:
    """The exit code of an error the operator can act on (bad name, store URL or database), else None.

    Only checked once a store command failed, so the lazy imports cost nothing otherwise.
    """
    if "bcsync.operations" not in sys.modules:
        return None
    from sqlalchemy.exc import SQLAlchemyError

    from bcsync.operations import OperatorError
    from bcsync.store import StoreConfigurationError, StoreInputError

    if isinstance(error, OperatorError):
        return error.exit_code
    if isinstance(error, StoreConfigurationError | StoreInputError | SQLAlchemyError):
        return 1
    return None


if __name__ == "__main__":
    sys.exit(main())
