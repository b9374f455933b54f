"""A plugin capability, registered through an `aisre.capabilities` entry point."""

from __future__ import annotations

from collections.abc import Callable

from aisre_cli.remediate.capabilities import Capability
from aisre_cli.remediate.capabilities.local import Notify


class Echo(Notify):
    name = "acme.echo"
    description = "Say something (a plugin capability)."


def register_capabilities(register: Callable[[Capability], None]) -> None:
    register(Echo())


def broken(register: Callable[[Capability], None]) -> None:
    raise ImportError("acme-sre-tools needs a newer aisre")
