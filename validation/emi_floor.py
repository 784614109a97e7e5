"""The Cramer-Rao floor of the residual EMI fraction: how little EMI any unbiased
correction can leave, given the exposure's read times and noise.

The data model (what a correction has to learn from the ramps alone) is, per pixel p and
read n of integration i,

    y_pn = a_pi + b_p k_n + c_n + E(t_n + o_p; theta) + noise(sigma),

with per-pixel intercepts per integration, one rate per pixel, per-read offsets common to
all pixels (nuisance), and the waveform E of each line, sum_h alpha_h cos(h w t) +
beta_h sin(h w t), w = 2 pi f (1 + delta).  theta = every harmonic's (alpha, beta) and,
with ``free_frequency``, each line's delta.  Reference pixels (no photo-current) have no
rate (b_p = 0) and per-read offsets of their own; they inform the fit and are not scored.
In one integration they are what separates a harmonic that is nearly a whole number of
periods per frame from the rates (SUB128, 10 groups: 5.1 % without them, 2.1 % with them).  The Fisher matrix of theta with the nuisance
eliminated is

    F = sum_p D_p^T P D_p / sigma^2 - (the Schur complement of the common offsets),

D_p = dE_p/dtheta (N x m), P the projector off the per-pixel ramp model.  The error of
the best unbiased estimate in the score's metric, the group-varying part C (E - E_hat)
(C removes each integration's mean), has expected square

    < |C D_p dtheta|^2 > = tr(F^-1 sum_p D_p^T C D_p) / (npix N),

and the floor is its root over rms[C E].  Unlike :func:`validation.emi_score.statistical_floor`
(sigma sqrt(p / M), which assumes every parameter is as well determined as a free
offset), this one knows when a harmonic is nearly a whole number of periods per frame
(then mostly a per-pixel ramp, degenerate with the rate) and what an unknown frequency
costs.  A biased estimator (one that drops a poorly determined harmonic) can go below it.
When some combination of the parameters is not measured at all (F singular) and it moves
the group-varying waveform, the floor is infinite: no correction can recover that part.
Noise: white, of variance sigma_p^2 per read and pixel (:func:`effective_sigma` gives
read noise^2 + quantisation + the Poisson variance of the pixel's rate averaged over a
ramp whose line is removed, rate t_group ngroups / (6 gain), as the joint fit weights
them; the Poisson noise is really a random walk, so this is an approximation).
"""
import numpy as np

from miri_testbed.calibration.emi import project_off_ramps

CHUNK_ELEMENTS = 2**22  # reads x pixels x parameters per block (32 MB of float64)
UNIDENTIFIABLE = 1e-10  # relative eigenvalue below which a direction of theta is not measured
MAX_PIXELS = 50_000  # pixels the sums are taken over (a regular sample beyond that)


def _columns(lines, t, free_frequency):
    """dE/dtheta at times ``t`` (N, npix) -> (N, npix, m), and E itself."""
    cols, E = [], np.zeros(t.shape)
    for line in lines:
        w = 2 * np.pi * line.true_frequency
        d_delta = np.zeros(t.shape)
        for h, (amp, phase) in enumerate(zip(line.amplitudes, line.phases), start=1):
            arg = h * w * t
            cols += [np.cos(arg), np.sin(arg)]
            E += amp * np.sin(arg + phase)
            d_delta += amp * h * 2 * np.pi * line.frequency_hz * t * np.cos(arg + phase)
        if free_frequency:
            cols.append(d_delta)
    return np.stack(cols, axis=-1), E


def cramer_rao_floor(lines, starts, offsets, sigma, usable=None, free_frequency=True, max_pixels=MAX_PIXELS,
                     reference=None):
    """The floor of the residual fraction (module docstring) for EMI ``lines`` (objects with
    ``frequency_hz``, ``true_frequency``, ``amplitudes``, ``phases`` and calls in seconds, as
    :class:`simulator.emi.EmiLine`) read at ``starts[i, k] + offsets[y, x]`` (seconds), scored
    over the ``usable`` pixels.

    ``sigma``: the noise of one read in DN, one number or one per pixel (``offsets``
    shape; e.g. :func:`effective_sigma`, which adds the Poisson noise of each pixel's
    rate).  ``reference``: pixels that see the EMI but collect no charge (reference
    pixels): they inform the fit with no rate of their own, and common per-read offsets
    of their own, but are not scored.  Beyond ``max_pixels`` pixels of a class the sums
    run over every s-th one: F, the metric and rms[C E]^2 all scale with the number of
    pixels, so each class's sums are those of its sample times n_all / n_sample.
    """
    nints, ngroups = starts.shape
    N = nints * ngroups
    usable = np.ones(offsets.shape, bool) if usable is None else usable
    reference = np.zeros(offsets.shape, bool) if reference is None else reference & ~usable
    T = starts.ravel() - starts.ravel()[0]  # the floor does not depend on the time origin
    weight_all = 1.0 / np.broadcast_to(np.asarray(sigma, np.float64), offsets.shape) ** 2
    m = sum(2 * len(line.amplitudes) + int(free_frequency) for line in lines)
    chunk = max(1, CHUNK_ELEMENTS // (N * max(m, 1)))
    F, G, ref2 = np.zeros((m, m)), np.zeros((m, m)), 0.0
    for pixels, scored in ((usable, True), (reference, False)):
        o_all = offsets[pixels].ravel()
        if o_all.size == 0:
            continue
        step = max(1, -(-o_all.size // max_pixels))
        o, weight, scale = o_all[::step], weight_all[pixels].ravel()[::step], o_all.size / o_all[::step].size
        rate = "shared" if scored else "none"  # reference pixels have no rate
        F_class, F_offsets = np.zeros((m, m)), np.zeros((N, m))
        for a in range(0, o.size, chunk):
            D, E = _columns(lines, T[:, None] + o[None, a : a + chunk], free_frequency)
            PD = project_off_ramps(D, nints, ngroups, rate)
            w = weight[a : a + chunk]
            F_class += np.einsum("npm,npl,p->ml", D, PD, w)
            F_offsets += np.einsum("npm,p->nm", PD, w)
            if scored:
                CD = project_off_ramps(D, nints, ngroups, "none")  # C: each integration's mean removed
                G += scale * np.einsum("npm,npl->ml", CD, CD)
                ref2 += scale * float(np.sum(project_off_ramps(E, nints, ngroups, "none") ** 2))
        # the common offsets' Schur complement: P is an orthogonal projector, so pinv(P W) = P / W
        F += scale * (F_class - F_offsets.T @ project_off_ramps(F_offsets, nints, ngroups, rate) / weight.sum())
    if m == 0 or ref2 == 0:
        return float("nan")
    d = np.sqrt(np.maximum(np.diag(F), 1e-300))
    eigval, eigvec = np.linalg.eigh(F / np.outer(d, d))
    seen = eigval > UNIDENTIFIABLE * eigval.max()
    Gs = G / np.outer(d, d)  # the metric in the same scaled coordinates
    blind = eigvec[:, ~seen]
    if np.trace(blind.T @ Gs @ blind) > UNIDENTIFIABLE * np.trace(Gs):
        return float("inf")  # a direction the data cannot see moves the group-varying waveform
    cov = (eigvec[:, seen] / eigval[seen]) @ eigvec[:, seen].T
    return float(np.sqrt(max(np.trace(cov @ Gs), 0.0) / ref2))


def effective_sigma(read_noise, rate_dn_s, gain, group_time, ngroups):
    """Per-read noise (DN) of a pixel for the floor: sqrt(read_noise^2 + 1/12 +
    max(rate, 0) t_group ngroups / (6 gain)), ``rate_dn_s`` in DN/s (module docstring).
    """
    rate = np.maximum(np.nan_to_num(np.asarray(rate_dn_s, np.float64)), 0.0)
    return np.sqrt(np.asarray(read_noise, np.float64) ** 2 + 1.0 / 12 + rate * group_time * ngroups / (6.0 * gain))
