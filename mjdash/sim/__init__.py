"""The embedded kie.ai simulator: the demo back end and the test server.

``Simulator`` is imported lazily so that ``mjdash --help`` and friends do not pay for Pillow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mjdash.sim.server import Simulator

__all__ = ["Simulator"]


def __getattr__(name: str) -> Any:
    if name == "Simulator":
        from mjdash.sim.server import Simulator

        return Simulator
    raise AttributeError(name)
