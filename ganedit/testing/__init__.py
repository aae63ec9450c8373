"""The plugin author's kit: the shared conformance test, a tiny family of every shape
(:mod:`ganedit.testing.families`) and the design-rule checks.

Example (a plugin's ``tests/test_family.py``)::

    from ganedit.testing import check_family, conformance_tests
    from ganedit_foo.family import Foo, FooConfig

    def test_foo_conforms():
        check_family(Foo, FooConfig(channels=4), image_size=16)

    # or one pytest item per check:
    test_foo = conformance_tests(Foo, FooConfig(channels=4))
"""

from ganedit.testing.conformance import (
    CHECKS,
    ConformanceError,
    check_family,
    conformance_tests,
)
from ganedit.testing.design_rules import (
    PUBLIC_MODULES,
    core_names_no_family,
    hook_names,
    hooks_documented,
    plugin_imports_only_public,
)

__all__ = [
    "CHECKS",
    "TINY_FAMILIES",
    "ConformanceError",
    "PUBLIC_MODULES",
    "check_family",
    "conformance_tests",
    "core_names_no_family",
    "hook_names",
    "hooks_documented",
    "plugin_imports_only_public",
]


def __getattr__(name: str):  # the tiny families import torch.nn and ganedit.data: load lazily
    if name == "TINY_FAMILIES":
        from ganedit.testing.families import TINY_FAMILIES

        return TINY_FAMILIES
    raise AttributeError(f"module 'ganedit.testing' has no attribute {name!r}")
