"""``callqa spec``: check, show and test service specifications."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from pipeline.cli_common import (
    EXIT_CALLS_FAILED,
    EXIT_USAGE,
    ConfigOption,
    fail_usage,
    stderr,
    stdout,
)

spec_app = typer.Typer(help="Check, show and test service specifications.", no_args_is_help=True)


@spec_app.command("validate")
def spec_validate(
    files: Annotated[list[Path], typer.Argument(help="Spec YAML files to check.")],
) -> None:
    """Check spec files: every item id, kind, field and phrase list; errors name file, line, item, field.

    Example: callqa spec validate configs/spec/zh-CN.yaml my_company.yaml
    """
    from audits.spec import SpecError, load_spec

    bad = 0
    for file in files:
        try:
            spec = load_spec(file)
        except SpecError as exc:
            stderr.print(f"[bold red]invalid:[/] {escape(str(exc))}", highlight=False)
            bad += 1
        else:
            stdout.print(f"[green]ok[/] {escape(f'{file}: {spec.name} ({spec.language}), {len(spec.items)} items')}")
    if bad:
        raise typer.Exit(EXIT_USAGE)


@spec_app.command("show")
def spec_show(
    spec: Annotated[Optional[str], typer.Argument(help="Spec file or bundled name (en, zh-CN). "
                                                  "Default: the settings' spec.")] = None,
    config: ConfigOption = None,
) -> None:
    """Show a spec's items as a table: id, title, kind, points, critical, source rows.

    Example: callqa spec show zh-CN
    """
    from audits.spec import SpecError, load_spec
    from pipeline.config import ConfigError, load_settings
    from pipeline.render import render_spec

    try:
        loaded = load_spec(spec or load_settings(config)["spec"])
    except (ConfigError, SpecError) as exc:
        raise fail_usage(str(exc)) from None
    render_spec(loaded, stdout)


@spec_app.command("test")
def spec_test(
    files: Annotated[list[Path], typer.Argument(help="Cases YAML files (the format of tests/fixtures/checks/*.yml).",
                                                exists=True, dir_okay=False)],
    spec: Annotated[Optional[str], typer.Option("--spec", "-s", help="Run every case against this spec (file or "
                                                "bundled name) instead of the spec the cases name.")] = None,
) -> None:
    """Run example calls with expected verdicts against a spec, before it goes live: a pass/fail table.

    Exit code 0 when every case gives its expected verdict, 1 when some do not, 2 when a cases file
    or a spec cannot be read.

    Example: callqa spec test my_cases.yml --spec my_company.yaml
    """
    from audits.cases import CasesError, run_cases
    from audits.spec import SpecError, load_spec
    from audits.specextends import bundled_specs
    from pipeline.render import render_case_results

    try:
        override = load_spec(spec) if spec else None
    except SpecError as exc:
        raise fail_usage(str(exc)) from None
    results = []
    for file in files:
        cache: dict[str, object] = {}

        def spec_for(name: str, file: Path = file, cache: dict = cache):
            """--spec, else the spec a case names: bundled, or a path beside the cases file."""
            if override is not None:
                return override
            if name not in cache:
                cache[name] = load_spec(name if name in bundled_specs() else file.parent / name)
            return cache[name]

        try:
            results += [(file, r) for r in run_cases(file, spec_for, spec)]
        except (CasesError, SpecError) as exc:
            raise fail_usage(str(exc)) from None
    render_case_results(results, stdout)
    if any(not r.ok for _, r in results):
        raise typer.Exit(EXIT_CALLS_FAILED)
