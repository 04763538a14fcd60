"""Every public module says what it exports (`__all__`), every name there
resolves, and the faces of the private packages (`kernel` over `_kernel`,
...) export nothing else of the package's: helpers stay private."""

from __future__ import annotations

import importlib
import inspect

import pytest

PUBLIC_MODULES = [
    "abstractcore_actors.kernel",
    "abstractcore_actors.providers",
    "abstractcore_actors.tools",
    "abstractcore_actors.structured",
    "abstractcore_actors.server",
    "abstractcore_actors.testing",
    "abstractcore_actors.sync",
    "abstractcore_actors.events",
    "abstractcore_actors.sessions",
    "abstractcore_actors.patterns",
    "abstractcore_actors.errors",
    "abstractcore_actors.types",
]
FACES = PUBLIC_MODULES[:4]  # re-export modules over a private package


def _ours(module: object) -> set[str]:
    """The public names of `module` bound to objects this package defines."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not inspect.ismodule(value)
        and (getattr(value, "__module__", "") or "").startswith("abstractcore_actors")
    }


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_a_public_module_lists_its_exports_and_each_resolves(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert len(set(exported)) == len(exported)
    missing = [n for n in exported if not hasattr(module, n)]
    assert missing == []
    # everything of ours it binds publicly is meant to be exported
    assert _ours(module) - set(exported) == set()


@pytest.mark.parametrize("name", FACES)
def test_a_face_over_a_private_package_exports_only_what_it_lists(name: str) -> None:
    module = importlib.import_module(name)
    public = {
        n for n, v in vars(module).items() if not n.startswith("_") and not inspect.ismodule(v)
    }
    assert set(module.__all__) == public
