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
    "ConformanceError",
    "PUBLIC_MODULES",
    "check_family",
    "conformance_tests",
    "core_names_no_family",
    "hook_names",
    "hooks_documented",
    "plugin_imports_only_public",
]


_FAMILY_NAMES = (
    "TINY_FAMILIES",
    "TinyColorize",
    "TinyCycle",
    "TinyGenerate",
    "TinyInpaint",
    "TinyUpscale",
    "write_blobs",
)
__all__ += list(_FAMILY_NAMES)


def __getattr__(name: str) -> object:  # the tiny families import ganedit.data: load lazily
    if name in _FAMILY_NAMES:
        from ganedit.testing import families

        return getattr(families, name)
    raise AttributeError(f"module 'ganedit.testing' has no attribute {name!r}")
