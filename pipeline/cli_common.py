"""What the ``callqa`` commands share: the consoles, exit codes, common options and the usage error."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

EXIT_CALLS_FAILED = 1
EXIT_USAGE = 2

stdout = Console()
# Log lines (cron mail, grep) must stay one line each: no hard wrapping when not on a terminal.
stderr = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[
    Optional[Path],
    typer.Option("--config", "-c", help="Settings YAML laid over configs/default.yaml.", dir_okay=False),
]
SpecOption = Annotated[
    Optional[str],
    typer.Option("--spec", "-s", help="Spec YAML file, or a bundled spec name: en, zh-CN. Default: settings' spec."),
]
MetadataOption = Annotated[
    Optional[Path],
    typer.Option("--metadata", "-m", help="Call metadata CSV (agent, ring time, hang-up party, surname...).",
                 exists=True, dir_okay=False),
]


def fail_usage(message: str) -> typer.Exit:
    # escape: messages hold brackets that are not markup, as in pip install 'callqa[ray]'
    stderr.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(EXIT_USAGE)
