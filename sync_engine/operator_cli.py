"""``threadline steps``, ``threadline ecos`` and ``threadline operations``: the operator
commands of the console from a shell, through the same ``sync_engine.commands``.

Every action is audited with the actor ``cli:<OS user>`` (or ``--actor NAME``) and needs
``--reason``; an unknown step or ECO, or a missing reason, exits 2 with one line on
stderr. ``steps retry --dry-run`` prints what the retry would touch and leave alone, and
changes nothing; a retry of errors a retry cannot fix (ownership rules) asks first
(``--yes`` answers for scripts).

Heavy imports stay inside the commands so ``threadline --help`` stays fast.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    import sqlalchemy as sa

    from sync_engine.commands import CommandResult
    from sync_engine.preview import Preview
    from sync_engine.store import Operation, StepRecord

steps_app = typer.Typer(help="Propagation steps: list, retry, skip.", no_args_is_help=True)
ecos_app = typer.Typer(help="ECOs as the engine has them: show, cancel.", no_args_is_help=True)
operations_app = typer.Typer(help="Operator operations and their outcome.", no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", help="Overrides THREADLINE_DATABASE_URL.")
]
Actor = Annotated[str | None, typer.Option("--actor", help="Who acts (default: cli:<OS user>).")]
Reason = Annotated[str | None, typer.Option("--reason", help="Why (required; audited).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def register(app: typer.Typer) -> None:
    """Add the ``steps``, ``ecos`` and ``operations`` groups to ``app``."""
    app.add_typer(steps_app, name="steps")
    app.add_typer(ecos_app, name="ecos")
    app.add_typer(operations_app, name="operations")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _actor(actor: str | None) -> str:
    import getpass

    return actor.strip() if actor and actor.strip() else f"cli:{getpass.getuser()}"


def _reason(reason: str | None, what: str) -> str:
    if reason is None or not reason.strip():
        _fail(f"--reason is required to {what}")
    return reason.strip()


def _engine(database_url: str | None) -> sa.Engine:
    from threadline.db import create_engine
    from threadline.settings import get_settings

    return create_engine(database_url or get_settings().database_url)


def _find(db: sa.Engine, step_ids: list[str]) -> list[StepRecord]:
    from sync_engine import store

    with db.connect() as connection:
        found = store.find_steps(connection, step_ids=step_ids)
    missing = sorted(set(step_ids) - {s.step_id for s in found})
    if missing:
        _fail(f"no step {missing[0]}" + (f" (and {len(missing) - 1} more)" if missing[1:] else ""))
    return found


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    )


def _step_json(step: StepRecord) -> dict[str, Any]:
    return step.model_dump(
        mode="json",
        include={
            "step_id",
            "eco",
            "kind",
            "system",
            "plant",
            "item",
            "revision",
            "supplier",
            "state",
            "attempt",
            "last_error_code",
            "last_error_message",
            "fingerprint",
            "updated_at",
        },
    )


def _steps_table(steps: list[StepRecord]) -> str:
    return _table(
        ("step", "state", "attempt", "error", "fingerprint", "since"),
        [
            (
                s.step_id,
                s.state.value,
                str(s.attempt),
                s.last_error_code or "-",
                s.fingerprint or "-",
                s.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
            )
            for s in steps
        ],
    )


@steps_app.command("list")
def steps_list(
    eco: Annotated[str | None, typer.Option("--eco", help="Only this ECO's steps.")] = None,
    state: Annotated[
        str | None, typer.Option("--state", help="Only steps in this state, e.g. blocked.")
    ] = None,
    fingerprint: Annotated[
        str | None, typer.Option("--fingerprint", help="Only steps with this error fingerprint.")
    ] = None,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """List steps, oldest ECO first (every filter given must hold)."""
    from contracts.steps import StepState
    from sync_engine import store

    states = None
    if state is not None:
        try:
            states = [StepState(state)]
        except ValueError:
            _fail(f"no state {state!r}; states are {', '.join(s.value for s in StepState)}")
    db = _engine(database_url)
    try:
        with db.connect() as connection:
            found = store.find_steps(connection, states=states, eco=eco, fingerprint=fingerprint)
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps([_step_json(s) for s in found], indent=2))
    else:
        typer.echo(_steps_table(found))
        typer.echo(f"{len(found)} steps")


def _print_preview(preview: Preview) -> None:
    typer.echo(preview.describe())
    for step in preview.touch:
        where = step.plant or step.supplier or "-"
        typer.echo(f"  retry  {step.step_id}  {step.state.value}  {where}")
    for step_id, why in preview.left_alone.items():
        typer.echo(f"  leave  {step_id}  {why}")


def _unfixable(preview: Preview) -> list[str]:
    """Fix hints of the previewed steps whose errors a retry cannot fix."""
    from sync_engine.ownership import OwnershipError, load
    from threadline.settings import get_settings

    try:
        rules = load(get_settings().ownership_file)
    except OwnershipError as exc:
        _fail(f"ownership rules: {exc}")
    hints = []
    for step in preview.touch:
        owner = rules.owner(
            system=step.system.value,
            kind=step.kind.value,
            code=step.last_error_code,
            plant=step.plant,
            supplier=step.supplier,
            item=step.item,
            eco=step.eco,
        )
        if not owner.retry_fixes:
            hints.append(f"{step.step_id}: {owner.fix_hint or 'a retry cannot fix this'}")
    return hints


@steps_app.command("retry")
def steps_retry(
    step_ids: Annotated[list[str] | None, typer.Argument(help="The steps to retry.")] = None,
    fingerprint: Annotated[
        str | None, typer.Option("--fingerprint", help="Retry every step with this fingerprint.")
    ] = None,
    reason: Reason = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be retried; change nothing.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="Retry errors a retry cannot fix without asking.")
    ] = False,
    actor: Actor = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Retry failed or blocked steps (by id, or every one with a fingerprint): first the
    preview, then the previewed steps only; prints the operation that follows them."""
    from sync_engine import commands

    why = _reason(reason, "retry steps")
    if bool(step_ids) == (fingerprint is not None):
        _fail("name the steps to retry, or --fingerprint, not both")
    db = _engine(database_url)
    try:
        if step_ids:
            _find(db, step_ids)
            preview = commands.preview_retry(db, step_ids=step_ids)
        else:
            preview = commands.preview_retry(db, fingerprint=fingerprint)
            if not preview.touch and not preview.left_alone:
                _fail(f"no step has the fingerprint {fingerprint}")
        _print_preview(preview)
        if dry_run:
            typer.echo("dry run: nothing changed")
            return
        hints = _unfixable(preview)
        if hints and not yes:
            typer.echo("A retry cannot fix these until someone fixes the data:")
            for hint in hints:
                typer.echo(f"  {hint}")
            typer.confirm("Retry them anyway?", abort=True)
        criteria = {"fingerprint": fingerprint} if fingerprint else {"step_ids": step_ids}
        result = commands.retry_previewed(
            db, preview.step_ids, actor=_actor(actor), reason=why, filter=criteria
        )
    except commands.InvalidCommand as exc:
        _fail(str(exc))
    finally:
        db.dispose()
    _print_result(result)


def _print_result(result: CommandResult) -> None:
    typer.echo(result.message)
    for step_id, why in result.left_out.items():
        if why.startswith("changed since"):
            typer.echo(f"  left out  {step_id}  {why}")
    if result.operation_id:
        typer.echo(
            f"operation {result.operation_id}: "
            f"threadline operations show {result.operation_id} --wait 60"
        )
    if result.outcome in ("not_found", "not_allowed"):
        raise typer.Exit(1)


@steps_app.command("skip")
def steps_skip(
    step_id: Annotated[str, typer.Argument(help="The step to skip.")],
    reason: Reason = None,
    actor: Actor = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Resolve a step by hand; the steps after it may go ahead."""
    from sync_engine import commands

    why = _reason(reason, "skip a step")
    db = _engine(database_url)
    try:
        _find(db, [step_id])
        result = commands.skip_step(db, step_id, actor=_actor(actor), reason=why)
    finally:
        db.dispose()
    _print_result(result)


def _eco_or_exit(db: sa.Engine, number: str) -> tuple[dict[str, Any], list[StepRecord]]:
    from sync_engine import store

    with db.connect() as connection:
        row = store.eco_row(connection, number)
        if row is None:
            _fail(f"no ECO {number}")
        steps = store.steps_of(connection, number)
    eco = {
        "number": row.number,
        "title": row.title,
        "state": row.state,
        "plm_status": row.plm_status,
        "approved_at": row.approved_at.isoformat() if row.approved_at else None,
        "production_ready_at": (
            row.production_ready_at.isoformat() if row.production_ready_at else None
        ),
        "cancelled_at": row.cancelled_at.isoformat() if row.cancelled_at else None,
    }
    return eco, steps


@ecos_app.command("show")
def ecos_show(
    number: Annotated[str, typer.Argument(help="The ECO number.")],
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """An ECO's state and every step of it."""
    db = _engine(database_url)
    try:
        eco, steps = _eco_or_exit(db, number)
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps({**eco, "steps": [_step_json(s) for s in steps]}, indent=2))
        return
    typer.echo(f"{eco['number']}  {eco['title']}  {eco['state']}")
    typer.echo(_steps_table(steps))


@ecos_app.command("cancel")
def ecos_cancel(
    number: Annotated[str, typer.Argument(help="The ECO number.")],
    reason: Reason = None,
    actor: Actor = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Cancel an ECO: its open steps stop and what is not yet effective is withdrawn."""
    from sync_engine import commands

    why = _reason(reason, "cancel an ECO")
    db = _engine(database_url)
    try:
        _eco_or_exit(db, number)
        result = commands.cancel_eco(db, number, actor=_actor(actor), reason=why)
    finally:
        db.dispose()
    _print_result(result)


def _operation_text(operation: Operation) -> str:
    lines = [
        f"{operation.id}  {operation.action.value} by {operation.actor}: {operation.summary}",
        f"reason: {operation.reason}",
    ]
    lines += [
        f"  {s.step_id}  {(s.outcome or s.state or '-')}" + (f"  {s.code}" if s.code else "")
        for s in operation.steps
    ]
    lines += [f"  left out  {item['step_id']}  {item['why']}" for item in operation.left_out]
    return "\n".join(lines)


@operations_app.command("show")
def operations_show(
    operation_id: Annotated[str, typer.Argument(help="The operation id (op-...).")],
    wait: Annotated[
        float, typer.Option("--wait", help="Wait up to this many seconds for it to end.")
    ] = 0.0,
    as_json: AsJson = False,
    database_url: DatabaseUrl = None,
) -> None:
    """An operation: who, why, its steps and how each ended (exit 1 while not done)."""
    import time

    from sync_engine import store

    db = _engine(database_url)
    deadline = time.monotonic() + wait
    try:
        while True:
            with db.connect() as connection:
                found = store.get_operation(connection, operation_id)
            if found is None:
                _fail(f"no operation {operation_id}")
            if found.status is store.OperationStatus.DONE or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
    finally:
        db.dispose()
    typer.echo(found.model_dump_json(indent=2) if as_json else _operation_text(found))
    if found.status is not store.OperationStatus.DONE:
        raise typer.Exit(1)
