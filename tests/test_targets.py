"""Every accuracy target names tests that exist."""
import ast
from pathlib import Path

from miri_testbed.validation.targets import load_targets

TESTS = Path(__file__).parent


def _test_names(path):
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_every_target_names_existing_tests():
    targets = load_targets()
    assert targets
    for target in targets:
        assert target.tests, f"target {target.id} names no test"
        for ref in target.tests:
            file, _, name = ref.partition("::")
            path = TESTS.parent / file
            assert path.is_file(), f"target {target.id}: {file} does not exist"
            assert name in _test_names(path), f"target {target.id}: {ref} does not exist"
