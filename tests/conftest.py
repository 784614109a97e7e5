import os

import pytest
from hypothesis import HealthCheck, settings

# Derandomised: the same examples on every run, so a red test is a real regression and
# reproducible; set HYPOTHESIS_PROFILE=explore to search new examples.
settings.register_profile(
    "ci", max_examples=10, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "explore", max_examples=100, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Nominal reference folders and PSF grids go to a per-session temporary cache, not the
    user's; session-scoped, so module-scoped fixtures (set up before any function-scoped
    one) see it too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MIRI_TESTBED_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        yield
