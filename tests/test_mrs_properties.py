"""MRS properties over random draws (hypothesis): an emission line anywhere in a band is recovered within its error.

Each example simulates one MIRIFUSHORT SHORT exposure (bands 1A and 2A) of a point source with
one emission line per band at a drawn place in the band, through a perturbed true geometry
with the perfect references and photon + read noise, calibrates it (detector1, spec2) and
scores its x1d against the truth (validation.mrs_score).  ~25-60 s an example: slow stage.

Calibrated with ``cube_build = drizzle_smooth``: with the default ``drizzle`` the property
does not hold at S/N ~200-300 (the uniform spreading of each pixel's wavelength range into
planes moves a line's centre by up to 0.7 km/s depending on where it falls, docs/mrs.md 'Line
centres': pulls of ~2 rms, one of 4.2 among 10 measured; tests/test_mrs_line_centres.py shows
the cause), though four draws may miss it.
"""
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from miri_testbed.calibration.pipeline import calibrate
from miri_testbed.simulator import (
    Effects,
    MrsEffects,
    MrsObservation,
    ReferenceOptions,
    Scene,
    SpectralSource,
    simulate,
)
from miri_testbed.simulator import mrs as smrs
from miri_testbed.validation import mrs_score

pytestmark = pytest.mark.slow

CONTINUUM = {"kind": "blackbody", "temperature_k": 800.0, "flux_mjy": 50.0, "ref_um": 7.0}
#: A line's flux, W m^-2: S/N of order 100 on this continuum in 10 groups.
LINE_FLUX = 2e-17
#: A line within this share of its band's lit range from either end (where only some slices reach, the
#: planes are flagged and a line's window may be out of range).
EDGE = 0.08


def _noise_only():
    free = Effects.noise_free()
    return replace(free, detector=replace(free.detector, poisson=True, read_noise=True),
                   mrs=MrsEffects(geometry_perturbation=True))


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          phases=(Phase.explicit, Phase.reuse, Phase.generate))  # no shrinking: an example costs 25-60 s
@given(place=st.tuples(st.floats(EDGE, 1 - EDGE), st.floats(EDGE, 1 - EDGE)), seed=st.integers(0, 2**16))
def test_an_emission_line_anywhere_in_a_band_is_recovered_within_its_error(tmp_path_factory, place, seed):
    """Each band's line is scored (inside the band, not lost), at an expected S/N > 30, and its centre
    is within 4 of its own errors of the truth (|pull| < 4: a false failure once in 16000 lines)."""
    folder = tmp_path_factory.mktemp("line")
    observation = MrsObservation(ngroups=10)
    centres = {}
    for name, share in zip(observation.bands, place, strict=True):
        lam = smrs.flight_pixels(name).wavelength
        lo, hi = float(np.min(lam)), float(np.max(lam))
        centres[name] = lo + share * (hi - lo)
    spectrum = {"continuum": CONTINUUM,
                "lines": [{"kind": "emission", "centre_um": c, "flux_w_m2": LINE_FLUX} for c in centres.values()]}
    sim = simulate(Scene((SpectralSource(spectrum, 0.1, 0.05),)), observation, folder, seed=seed,
                   references=ReferenceOptions(kind="perfect"), effects=_noise_only())
    paths = calibrate(sim["uncal"], folder / "out", refs_folder=sim["refs"],
                      algorithms={"cube_build": "drizzle_smooth"})
    rows = mrs_score.score_x1d(sim["truth"], paths["x1d"])
    for name, centre in centres.items():
        mine = [r for r in rows if r.get("bin") == centre]
        pulls = [r["value"] for r in mine if r["metric"] == "mrs_wavelength_pull"]
        assert len(pulls) == 1, (name, centre, [r["metric"] for r in mine])
        snr = next(r["snr"] for r in mine if r["metric"] == "mrs_wavelength_pull")
        assert snr > 30, (name, centre, snr)
        assert abs(pulls[0]) < 4, (name, centre, pulls[0], snr)
