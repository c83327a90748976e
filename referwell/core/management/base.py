"""Conventions every Referwell command follows (each app keeps its own commands, in its
`management/commands/`).

- `--practice SLUG` for a command that touches a practice's data (`PracticeCommand`, in
  `referwell.accounts.management.base`, finds it);
- `--json`: exactly one JSON object on stdout and nothing else there;
- bad input: a non-zero exit and a one-line reason on stderr.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError, CommandParser


class OneLineParser(CommandParser):
    def error(self, message: str) -> NoReturn:
        if self.called_from_command_line:
            sys.stderr.write(f"{self.prog}: error: {message}\n")
            sys.exit(2)
        raise CommandError(f"Error: {message}")


class ReferwellCommand(BaseCommand):
    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = OneLineParser
        parser.prog = f"{prog_name} {subcommand.replace('_', '-')}"
        return parser

    def print_json(self, payload: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(payload, default=str))
