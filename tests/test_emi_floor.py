"""The Cramer-Rao floor of the residual EMI fraction (validation.emi_floor) against a
Monte Carlo of the least-squares fit it bounds."""
import numpy as np
import pytest

from miri_testbed.instrument import readout
from miri_testbed.simulator import Observation, readclock
from miri_testbed.simulator.emi import EmiLine
from miri_testbed.validation.emi_floor import cramer_rao_floor


def _least_squares_residuals(line, obs, sigma, trials, rng, reference=None):
    """Residual fractions of the exact linear fit (frequency known): per-pixel intercept
    and rate, common per-read offsets, every harmonic's (alpha, beta), white noise.
    ``reference`` pixels (flattened bool) have no rate and offsets of their own, and are
    not scored."""
    starts, offsets = readclock.frame_starts(obs), readclock.pixel_offsets(obs).ravel()
    reference = np.zeros(offsets.size, bool) if reference is None else reference
    nints, ngroups = starts.shape
    t = (starts.ravel() - starts.ravel()[0])[:, None] + offsets[None, :]  # (N, npix)
    w = 2 * np.pi * line.true_frequency
    harmonics = np.arange(1, len(line.amplitudes) + 1)
    D = np.concatenate([np.stack([np.cos(h * w * t), np.sin(h * w * t)], -1) for h in harmonics], -1)
    truth = sum(a * np.sin(h * w * t + p) for h, a, p in zip(harmonics, line.amplitudes, line.phases, strict=True))
    k = np.arange(ngroups) - (ngroups - 1) / 2
    X = np.kron(np.eye(nints), np.ones((ngroups, 1)))
    P_ref = np.eye(nints * ngroups) - X @ np.linalg.pinv(X)
    X = np.hstack([X, np.tile(k, nints)[:, None]])
    P = np.eye(nints * ngroups) - X @ np.linalg.pinv(X)
    C = np.kron(np.eye(nints), np.eye(ngroups) - 1.0 / ngroups)
    N, npix, m = D.shape
    rows = []
    for cls, Pc in ((~reference, P), (reference, P_ref)):
        offset_columns = np.zeros((N, npix, 2 * N))
        offset_columns[:, cls, N * int(Pc is P_ref) : N * (1 + int(Pc is P_ref))] = Pc[:, None, :]
        rows.append(np.concatenate([np.einsum("nk,kpm->npm", Pc, D[:, cls]), offset_columns[:, cls]], axis=-1))
    design = np.concatenate(rows, axis=1).reshape(-1, m + 2 * N)
    ref = np.sqrt(np.mean((C @ truth[:, ~reference]) ** 2))
    out = []
    for _ in range(trials):
        rates = np.where(reference, 0.0, rng.normal(0, 3, npix))
        y = truth + rng.normal(0, sigma, truth.shape) + rng.normal(0, 50, npix) + np.outer(k.tolist() * nints, rates)
        y += np.where(reference, rng.normal(0, 5, (N, 1)), 0.0)  # a drift of the reference pixels alone
        projected = np.concatenate([P @ y[:, ~reference], P_ref @ y[:, reference]], axis=1)
        coef = np.linalg.lstsq(design, projected.reshape(-1), rcond=None)[0]
        fitted = np.einsum("npm,m->np", D[:, ~reference], coef[:m])
        out.append(np.sqrt(np.mean((C @ (truth[:, ~reference] - fitted)) ** 2)) / ref)
    return np.array(out)


@pytest.mark.parametrize("subarray,ngroups,nints,with_reference", [("SUB64", 4, 1, False), ("SUB64", 3, 3, False),
                                                                   ("SUB128", 6, 1, True)])
def test_floor_is_reached_by_the_least_squares_fit_it_bounds(subarray, ngroups, nints, with_reference):
    """For a linear model in white noise least squares attains the Cramer-Rao bound, so
    the mean squared residual fraction over trials equals the floor squared; 60 trials of
    a ~6-parameter error: the mean's relative spread is about sqrt(2 / (6 x 60)) = 8 %.
    With reference pixels (no rate, their own drift): SUB128 in one integration, where
    they are what pins down the near-whole-period 2nd harmonic."""
    rng = np.random.default_rng(11)
    obs = Observation(subarray=subarray, ngroups=ngroups, nints=nints)
    line = EmiLine("Hz390", 390.625, 1e-4, (5.0, 1.5, 1.0), (0.3, 2.0, 4.0))
    sigma = 4.0
    offsets = readclock.pixel_offsets(obs)
    reference = np.zeros(offsets.shape, bool)
    if with_reference:
        reference[:, readout.subarray(subarray).reference_columns()] = True
    measured = _least_squares_residuals(line, obs, sigma, 60, rng, reference.ravel())
    floor = cramer_rao_floor([line], readclock.frame_starts(obs), offsets, sigma, ~reference,
                             free_frequency=False, reference=reference)
    assert np.mean(measured**2) / floor**2 == pytest.approx(1.0, abs=0.3)
    if with_reference:  # and they are information: without them the floor is higher
        assert cramer_rao_floor([line], readclock.frame_starts(obs), offsets, sigma, ~reference,
                                free_frequency=False) > 1.5 * floor


def test_unknown_frequency_never_lowers_the_floor_and_more_integrations_raise_it_less():
    line = EmiLine("Hz390", 390.625, 1e-4, (5.0, 1.5, 1.0), (0.3, 2.0, 4.0))
    floors = {}
    for nints in (1, 4):
        obs = Observation(subarray="SLITLESSPRISM", ngroups=3, nints=nints)
        args = ([line], readclock.frame_starts(obs), readclock.pixel_offsets(obs), 4.0)
        floors[nints] = (cramer_rao_floor(*args, free_frequency=False), cramer_rao_floor(*args, free_frequency=True))
        assert floors[nints][1] >= floors[nints][0] * (1 - 1e-9)
    # one integration of 3 groups barely sees the frequency; four integrations see it
    assert floors[1][1] / floors[1][0] > floors[4][1] / floors[4][0]

