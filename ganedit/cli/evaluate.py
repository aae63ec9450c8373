"""``ganedit eval MODEL``: evaluate a model and print a table (or JSON)."""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Any

import click

from ganedit.cli.common import (
    _user_errors,
    device_options,
    seed_option,
    self_ensemble_option,
    weights_option,
)
from ganedit.cli.model_commands import load_editor, model_command, model_group
from ganedit.cli.roles import roles_help, roles_option
from ganedit.family import EvalResult, Kind, ModelFamily

EVAL_COMMON = {
    "data",
    "weights",
    "n",
    "seed",
    "device",
    "precision",
    "json",
    "self_ensemble",
    "sheets",
}


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return "" if v is None else str(v)


def _format_table(rows: list[dict], summary: dict) -> str:
    """The per-item rows as an aligned table, then the summary as ``name: value`` lines (a
    family's summary holds means, gains and whole-set figures, so it is not a table row)."""
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    lines: list[str] = []
    if cols:
        table = [[_cell(r.get(c)) for c in cols] for r in rows]
        widths = [max(len(c), *(len(t[i]) for t in table)) for i, c in enumerate(cols)]
        lines.append("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip())
        lines.append("  ".join("-" * w for w in widths))
        lines += [
            "  ".join(v.ljust(w) for v, w in zip(t, widths, strict=True)).rstrip() for t in table
        ]
        lines.append("")
    if summary:
        width = max(len(k) for k in summary)
        lines.append("summary")
        lines += [f"  {k.ljust(width)}  {_cell(v)}" for k, v in summary.items()]
    return "\n".join(lines)


def _evaluate(family: ModelFamily, editor: Any, data: dict, options: dict[str, Any]) -> EvalResult:
    """``family.evaluate``; without ``--data`` a family that has no evaluation data of its own
    (its evaluate raises :class:`~ganedit.data.DatasetError`) is a usage error saying that
    ``--data`` is required."""
    from ganedit.data import DatasetError

    try:
        return family.evaluate(editor, data, options)
    except DatasetError as exc:
        if data:
            raise
        raise click.UsageError(
            f"{family.name} has no evaluation data of its own: --data is required. "
            + roles_help(type(family), "--data")
        ) from exc


def _make_eval(cls: type[ModelFamily]) -> click.Command:
    """Evaluate MODEL and print a table (or --json)."""

    def callback(**kw: Any) -> None:
        from ganedit.plugins import get_family

        with _user_errors():
            # GENERATE families have no --self-ensemble
            editor = load_editor(cls, kw, EVAL_COMMON, self_ensemble=kw.get("self_ensemble", 1))
            eval_options = {"n": kw["n"], "seed": kw["seed"], "sheets": kw["sheets"]}
            result = _evaluate(get_family(cls.name), editor, kw["data"], eval_options)
        rows, summary = list(result.get("rows", [])), dict(result.get("summary", {}))
        if kw["json"]:
            click.echo(
                jsonlib.dumps({"model": cls.name, "rows": rows, "summary": summary}, default=str)
            )
        else:
            click.echo(_format_table(rows, summary) if rows or summary else "no results")

    params: list[click.Parameter] = [
        roles_option(
            cls,
            "--data",
            "Evaluation data [default: the model's own, for models that have one; "
            "required for the others]",
            required=False,
        ),
        weights_option(),
        click.Option(
            ["--n"],
            type=click.IntRange(min=1),
            default=None,
            help="Number of items to evaluate [default: the model's].",
        ),
        seed_option(),
        click.Option(
            ["--sheets"],
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Folder for the family's sample sheets (e.g. input | output), if it makes any.",
        ),
        *device_options(),
        *([self_ensemble_option()] if cls.kind != Kind.GENERATE else []),
        click.Option(
            ["--json", "json"], is_flag=True, help="Print {model, rows, summary} as JSON."
        ),
    ]
    return model_command(
        cls,
        callback,
        params,
        f"Evaluate {cls.name}: one row per item, then a summary (means, gains, whole-set figures).",
        reserved=EVAL_COMMON,
        command="eval",
    )


eval_cmd = model_group(
    "eval", _make_eval, lambda c: c.is_evaluable(), "this model has no evaluation"
)
