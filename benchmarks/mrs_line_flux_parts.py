"""Issue 16's foreign-set line fluxes taken apart, per line (session 28): what makes the 1A / 2A line-flux errors.

Reads the workdir of ``python benchmarks/mrs_complete.py --workdir DIR --variants ... VARIANT`` (its simulated
sets ``sim_nf`` and ``sim`` and VARIANT's products under ``noise-free/`` and ``noisy/``), adds a twin of the
noise-free set **without its lines** (``sim_nf_nolines``: the same scene, continuum only; through our detector1
and spec3 with VARIANT into ``noise-free_nolines/``), and prints per line (5 per band):

* ``fit``: the scorer's line flux (``validation.mrs_score.score_line``, as ``benchmarks/mrs_jwst.py`` scores it)
  over the truth - 1, %, signed;
* ``flat``: the scorer's fit on the x1d less the twin's plus the true continuum (the line on a flat continuum: the
  fit's own error, its profile model's, without the continuum's structure under the line);
* ``fit1``: the scorer's fit on the x1d with session 20's line profile, the pixel's box once
  (:func:`row_fractions_once`); the scorer's since session 28 has it twice (the detector pixel integrates the
  line-spread function over its extent in wavelength, one box, and the drizzle spreads that evenly over the same
  extent, a second: :func:`validation.lrs_score.row_fractions`; this file's record of 2026-12-05 predates that and
  names the two ``fit`` (once) and ``fit2`` (twice));
* ``sum``: model-free, the x1d summed over the line's +/- :data:`HALF` planes less the line-free twin's x1d on the
  same planes (the continuum and its plane-to-plane structure taken out), each plane's F_nu times its width and
  ``c / lambda^2``, over the truth - 1, %;
* ``level``: the twin's x1d / the true continuum - 1 on those planes, weighted by the line's own light per plane
  (the continuum's error where the line's light is), %;
* ``line - level``: what the line has beyond the continuum's error at its own planes, with the background
  subtracted (the x1d) and without it (``FLUX + BACKGROUND``, each over the twin's same sum's level: the
  annulus's part);
* ``field``: the cube summed over every covered spaxel, line less twin, over the truth - 1 (what the drizzle
  kept, no aperture), and the twin's field level there;
* ``apcorr``: the table's correction at the line (linear between its nodes) over the correction of the
  simulator's own PSF there (linear between the PSF's nodes, as the simulator renders it) - 1, %: the
  APCORR's interpolation (a diagnosis: reads the simulator's PSF, as the APCORR's maker does);
* noisy: the fit's error, its own 1-sigma (the fit's, FLUX_ERROR as independent planes) and that 1-sigma with the
  planes' correlation (the scorer's sandwich with the x1d's ``plane_correlation``, ``score_line(correlation=)``),
  and the fit's error less the noise-free one in those sigmas; per band, what a calibration without error would
  give with Gaussian noise of those sigmas: the chance that a line, all five, and their median fall within 0.1 %;
* the line alone, plane by plane (session 31): the x1d less the line-free twin's on the line's +/- :data:`HALF`
  planes, and the same of the whole cube's sum (``field``), fitted with the scorer's profile alone (flux, centre
  and width free, no continuum; :func:`profile_alone`): the fit's flux over the planes' sum - 1, %, and the residual
  (data - model) on the 7 planes about the centre as % of the sum: what a profile fit reads that the sum does not;
* last, the line-free twin's level structure: its x1d over a cubic in lambda, rms and the rms of a 21-plane running
  mean, for the set and for each exposure alone (spec3 of one, into ``noise-free_nolines_single/``), and the set's
  residual against the singles' mean (what the combination adds); the subsets d1-d3 and d2+d4 with VARIANT
  (``noise-free_nolines_subsets/``), and the four with VARIANT less ``_complete`` (no selection).

    python benchmarks/mrs_line_flux_parts.py --workdir DIR [--variant V] [--record]
"""
import argparse
import dataclasses
import itertools
import math
import sys
from pathlib import Path

import numpy as np
from scipy.special import erf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mrs_complete  # noqa: E402
import mrs_foreign_twins as ft  # noqa: E402
import mrs_jwst as mj  # noqa: E402

from miri_testbed.calibration import registry  # noqa: E402

from imager_common import transcript, write_result  # noqa: E402

#: Planes either side of a line's centre in the model-free sum (the line is ~1.5 planes sigma: 8 holds > 99.99 %).
HALF = 8
#: The default cube kernel (the registry's), the one taken apart unless ``--variant`` says otherwise.
DEFAULT = registry.DEFAULTS["cube_build"]


def line_free_sims(folder):
    """The noise-free set simulated without its lines (``sim_nf_nolines``; simulated once, then read)."""
    spectrum = mj.SPECTRUM
    mj.SPECTRUM = dict(spectrum, lines=[])
    try:
        return mj.simulate_foreign(folder / "sim_nf_nolines", noise_free=True)
    finally:
        mj.SPECTRUM = spectrum


def line_free_twin(folder, variant):
    """The noise-free set without its lines through detector1 and spec3 with ``variant``: spec3's result dict."""
    sims = line_free_sims(folder)
    out = folder / "noise-free_nolines" / variant
    if (out / "ours_x1d.fits").exists():
        return {"x1d": str(out / "ours_x1d.fits"), "cubes": sorted(str(p) for p in out.glob("ours_*_s3d.fits"))}
    sigma = mrs_complete.alpha_sigma(variant)  # the kernel's own APCORR, as mrs_complete.py's set has
    kernel_sims = mrs_complete.refs_for(sims, sigma, folder / f"refs_alpha{sigma}_noise-free_nolines")
    exposures, d1s = ft.detector1_set(sims)
    return ft.spec3(kernel_sims, exposures, d1s, variant, out)


def x1d_tables(path):
    """``{band: (wavelength, flux, error, background, correlation)}`` of an x1d, Jy."""
    from stdatamodels.jwst import datamodels as dm

    out = {}
    with dm.open(str(path)) as model:
        for spec in model.spec:
            t = spec.spec_table
            out[str(spec.name)] = tuple(np.asarray(t[c], float) for c in ("WAVELENGTH", "FLUX", "FLUX_ERROR",
                                                                           "BACKGROUND")) + (
                np.asarray(spec.plane_correlation, float),)
    return out


def field_sums(cube_paths):
    """``{band: (wavelength, Jy summed over every covered spaxel per plane)}``."""
    from miri_testbed.calibration.mrs_spec2 import JY_PER_MJY_SR_ARCSEC2

    out = {}
    for path in cube_paths:
        data, _, _, wave, _, model = mj.cube_arrays(path)
        w = model.meta.wcsinfo
        area = abs(w.cdelt1 * w.cdelt2) * (3600.0**2 if w.cunit1 == "deg" else 1.0)
        out[mj.cube_band(model)] = (wave, np.nansum(data, axis=(1, 2)) * area * JY_PER_MJY_SR_ARCSEC2)
    return out


def watts(wavelength, jy):
    """``sum_k F_nu,k d lambda c / lambda_k^2`` (W m^-2) of planes of uniform width."""
    step = float(np.median(np.diff(wavelength)))
    return float(np.sum(jy * 1e-26 * mj.C_UM_S / wavelength**2) * step)


def exact_apcorr(band, wavelength_um, target, alpha_sigma):
    """The simulator's correction at ``wavelength_um`` (3 lambda/D): its PSF linear between nodes, as it renders.

    ``alpha_sigma``: the kernel's alpha Gaussian, median pixels (:func:`mrs_complete.alpha_sigma`).  The cube's
    image is linear in the PSF, so it is :func:`simulator.mrs_apcorr.cube_psf` of the two nodes, interpolated.
    """
    from miri_testbed.instrument import mrs
    from miri_testbed.simulator import mrs as smrs
    from miri_testbed.simulator import mrs_apcorr as ma

    nodes = smrs.psf_nodes(band)
    i = int(np.clip(np.searchsorted(nodes, wavelength_um) - 1, 0, len(nodes) - 2))
    w = (wavelength_um - nodes[i]) / (nodes[i + 1] - nodes[i])
    before, mrs.CUBE_ALPHA_SIGMA_PIXELS = mrs.CUBE_ALPHA_SIGMA_PIXELS, alpha_sigma
    try:
        image = (1 - w) * ma.cube_psf(band, float(nodes[i])) + w * ma.cube_psf(band, float(nodes[i + 1]))
    finally:
        mrs.CUBE_ALPHA_SIGMA_PIXELS = before
    covered = ma.covered_samples(band, target)
    return float(ma.correction(band, image, mrs.lambda_over_d(wavelength_um), 3.0, covered))


def profile_alone(wave, line_only, centre, box, sigma):
    """``(fit / sum - 1, residuals / sum)`` of a line alone (module docstring) on its +/- :data:`HALF` planes."""
    from scipy.optimize import curve_fit

    from miri_testbed.validation import lrs_score as lrs

    k = int(np.argmin(np.abs(wave - centre)))
    u = np.arange(k - HALF, k + HALF + 1, dtype=float)
    y = line_only[k - HALF:k + HALF + 1] / wave[k - HALF:k + HALF + 1] ** 2  # F_nu -> F_lambda, up to a constant

    def model(x, a, m, s):
        return a * lrs.row_fractions(x, m, s, box)
    u0 = k + (centre - wave[k]) / (wave[1] - wave[0])
    p, _ = curve_fit(model, u, y, p0=[y.sum(), u0, sigma])
    return p[0] / y.sum() - 1, ((y - model(u, *p)) / y.sum())[HALF - 3:HALF + 4]


def row_fractions_once(u, centre, sigma, box=0.0):
    """Session 20's line profile (module docstring, ``fit1``): the Gaussian convolved with the pixel's box once,
    ``int Phi(t / sigma) dt = sigma (z Phi(z) + phi(z))`` differenced over ``box``, then over each row."""
    from scipy.special import ndtr

    if box <= 0:
        return ndtr((u + 0.5 - centre) / sigma) - ndtr((u - 0.5 - centre) / sigma)

    def integral(t):
        z = (t - centre) / sigma
        return sigma * (z * ndtr(z) + np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi))

    def smoothed(x):
        return (integral(x + box / 2) - integral(x - box / 2)) / box

    return smoothed(u + 0.5) - smoothed(u - 0.5)


def score_once(spectrum, line, others, wavelength_map):
    """:func:`validation.mrs_score.score_line` with :func:`row_fractions_once` as the line's profile."""
    from miri_testbed.validation import lrs_score as lrs
    from miri_testbed.validation import mrs_score

    twice = lrs.row_fractions
    lrs.row_fractions = row_fractions_once
    try:
        return mrs_score.score_line(spectrum, line, others, wavelength_map)
    finally:
        lrs.row_fractions = twice


def twin_structure(folder, variant, out):
    """The line-free twin's level structure: the set, and each exposure alone (module docstring, last part)."""
    sims = line_free_sims(folder)
    sigma = mrs_complete.alpha_sigma(variant)
    kernel_sims = mrs_complete.refs_for(sims, sigma, folder / f"refs_alpha{sigma}_noise-free_nolines")
    exposures, d1s = ft.detector1_set(sims)
    cases = {"set": x1d_tables(folder / "noise-free_nolines" / variant / "ours_x1d.fits")}
    for k in range(len(sims)):
        result = ft.spec3(kernel_sims[k:k + 1], exposures[k:k + 1], d1s[k:k + 1], variant,
                          folder / "noise-free_nolines_single" / variant / f"d{k + 1}")
        cases[f"d{k + 1}"] = x1d_tables(result["x1d"])
    for name, members, kernel in (("d1-d3", slice(0, 3), variant), ("d2+d4", slice(1, 4, 2), variant),
                                  ("set without _complete", slice(0, 4), variant.removesuffix("_complete"))):
        result = ft.spec3(kernel_sims[members], exposures[members], d1s[members], kernel,
                          folder / "noise-free_nolines_subsets" / kernel / name.replace(" ", "_"))
        cases[name] = x1d_tables(result["x1d"])
    out("   the line-free twin's x1d / its cubic fit in lambda - 1 over the planes the set uses, at least 0.05 um "
        "inside the band's ends: rms, rms of its 21-plane running mean (%); each exposure alone, and the set against "
        "the singles' mean")
    from stdatamodels.jwst import datamodels as dm

    from miri_testbed.calibration import mrs_extract
    from miri_testbed.instrument import mrs, mrs_dither
    from miri_testbed.simulator import mrs as smrs

    path = next(Path(kernel_sims[0]["refs"]).glob("*mrs*_apcorr.asdf"))
    table = mrs_extract._apcorr_table(dm.MirMrsApcorrModel(str(path)), path)

    def stats(r):
        smooth = np.convolve(r, np.ones(21) / 21, mode="valid")
        return f"{100 * np.std(r):.3f} / {100 * np.std(smooth):.3f}"

    for band in mj.LINES_UM:
        wave, flux = cases["set"][band][:2]
        ok = np.isfinite(flux) & (flux > 0)
        ok &= (wave > wave[ok][0] + 0.05) & (wave < wave[ok][-1] - 0.05)
        x = wave[ok] - wave[ok].mean()
        residual = {}
        for name, tables in cases.items():
            ratio = tables[band][1][ok]
            ratio = ratio / np.polyval(np.polyfit(x, ratio, 3), x) - 1
            residual[name] = ratio
        singles = np.mean([residual[f"d{k + 1}"] for k in range(len(sims))], axis=0)
        # the APCORR's interpolation along the band: the table over the simulator's own correction, 8 per node step
        nodes = smrs.psf_nodes(band)
        lam = np.concatenate([np.linspace(a, b, 9)[:-1] for a, b in zip(nodes[:-1], nodes[1:], strict=True)])
        target = mrs.band(band).from_v2v3(*mrs_dither.target_v2v3(1))
        exact = np.array([exact_apcorr(band, x, target, sigma) for x in lam])
        interp = np.interp(wave[ok], lam, table.at(lam, 3 * mrs.lambda_over_d(lam)) / exact - 1)
        level = cases["set"][band][1][ok] / (float(mj.SPECTRUM["continuum"]["flux_mjy"]) * 1e-3) - 1
        lo, hi, spread = 100 * interp.min(), 100 * interp.max(), 100 * np.std(interp)
        divided = 100 * np.std((1 + level) / (1 + interp) - 1)
        out(f"   {band}: the APCORR table over the simulator's own correction - 1 along the band {lo:+.3f} to "
            f"{hi:+.3f} %, rms {spread:.3f} %; the set's level rms {100 * np.std(level):.3f} %, after dividing the "
            f"interpolation out {divided:.3f} %, correlation {np.corrcoef(level, interp)[0, 1]:+.2f}")
        out(f"   {band}: " + "; ".join(f"{n} {stats(r)}" for n, r in residual.items())
            + f"; singles' mean {stats(singles)}; set - singles' mean {stats(residual['set'] - singles)}; "
            f"correlation set / singles' mean {np.corrcoef(residual['set'], singles)[0, 1]:.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", required=True, help="mrs_complete.py's workdir (module docstring)")
    parser.add_argument("--variant", default=DEFAULT, help=f"cube_build variant (default {DEFAULT})")
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_line_flux_parts.txt")
    args = parser.parse_args(argv)
    mj.quiet()
    out, lines = transcript()
    from stdatamodels.jwst import datamodels as dm

    from miri_testbed.calibration import mrs_extract
    from miri_testbed.instrument import mrs, mrs_dither
    from miri_testbed.simulator.truth import read_truth
    from miri_testbed.validation import mrs_score

    folder = Path(args.workdir)
    twin = line_free_twin(folder, args.variant)
    truth_path = str(folder / "sim_nf" / "d1" / "mrs_d1_truth.fits")
    truth = read_truth(truth_path)
    table = truth.table("LINES")
    wavelength_map = truth.image("WAVELENGTH")
    sigma = mrs_complete.alpha_sigma(args.variant)
    refs = (folder / "sim_nf" / "d1" / "refs" if sigma == mrs.CUBE_ALPHA_SIGMA_PIXELS
            else folder / f"refs_alpha{sigma}_noise-free")
    apcorr_path = next(refs.glob("*mrs*_apcorr.asdf"))
    apcorr = mrs_extract._apcorr_table(dm.MirMrsApcorrModel(str(apcorr_path)), apcorr_path)
    twin_x1d, twin_field = x1d_tables(twin["x1d"]), field_sums(twin["cubes"])
    results = {}
    for group in ("noise-free", "noisy"):
        result = folder / group / args.variant
        results[group] = dict(x1d=x1d_tables(result / "ours_x1d.fits"), spectra=mrs_score.read_spectra(
            str(result / "ours_x1d.fits")), field=field_sums(sorted(result.glob("ours_*_s3d.fits"))))
    out(f"The foreign set's line fluxes taken apart, cube_build {args.variant}, its APCORR (module docstring); "
        f"per line, %:")
    out("   band  line um   noise-free: fit    flat    fit1     sum   level  line-level (no bkg)   field (level)   "
        "apcorr interp  |  noisy: fit    sigma fit / +corr   (noisy - noise-free) / sigma+corr")
    centres = [float(c) for c in table["centre_um"]]
    sigma_corr = {band: [] for band in mj.LINES_UM}
    continuum = float(mj.SPECTRUM["continuum"]["flux_mjy"]) * 1e-3
    for band, band_lines in mj.LINES_UM.items():
        target = mrs.band(band).from_v2v3(*mrs_dither.target_v2v3(1))
        for centre in band_lines:
            line = [r for r in table if abs(float(r["centre_um"]) - centre) < 1e-9][0]
            true_w = float(line["flux_w_m2"])
            others = [c for c in centres if c != centre]
            row = {}
            for group in ("noise-free", "noisy"):
                spectrum = results[group]["spectra"][band]
                snr, fit, wl_fit, _ = mrs_score.score_line(spectrum, line, others, wavelength_map)
                step = float(np.median(np.diff(spectrum.wavelength)))
                row[group] = 100 * (fit.flux * step * 1e-26 * mj.C_UM_S / wl_fit**2 / true_w - 1)
                if group == "noise-free":
                    _, tfit, twl, _ = score_once(spectrum, line, others, wavelength_map)
                    row["once"] = 100 * (tfit.flux * step * 1e-26 * mj.C_UM_S / twl**2 / true_w - 1)
                    flat = dataclasses.replace(spectrum, flux=spectrum.flux - twin_x1d[band][1] + continuum)
                    _, ffit, fwl, _ = mrs_score.score_line(flat, line, others, wavelength_map)
                    row["flat"] = 100 * (ffit.flux * step * 1e-26 * mj.C_UM_S / fwl**2 / true_w - 1)
                if group == "noisy":
                    corr = results[group]["x1d"][band][4]
                    _, cfit, _, _ = mrs_score.score_line(spectrum, line, others, wavelength_map, correlation=corr)
                    row["sigma"] = 100 * fit.flux_err / abs(fit.flux)
                    row["sigma_corr"] = 100 * cfit.flux_err / abs(cfit.flux)
                    sigma_corr[band].append(row["sigma_corr"])
            wave, flux, _, background, _ = results["noise-free"]["x1d"][band]
            twave, tflux, _, tbackground, _ = twin_x1d[band]
            if not np.allclose(wave, twave):
                raise RuntimeError(f"{band}: the twin's planes are not the set's")
            k = int(np.argmin(np.abs(wave - centre)))
            sl = slice(k - HALF, k + HALF + 1)
            excess = flux[sl] - tflux[sl]
            weights = excess / excess.sum()
            total = watts(wave[sl], excess)
            level = float(np.sum(weights * (tflux[sl] / continuum - 1)))
            # without the background: the line's light in aperture sums against the twin's at the same planes
            raw = flux[sl] + background[sl] - tflux[sl] - tbackground[sl]
            raw_level = float(np.sum(weights * (tflux[sl] + tbackground[sl]) / continuum))
            no_bkg = watts(wave[sl], raw) / raw_level / true_w - 1
            fwave, ffield = results["noise-free"]["field"][band]
            _, tfield = twin_field[band]
            kf = int(np.argmin(np.abs(fwave - centre)))
            fsl = slice(kf - HALF, kf + HALF + 1)
            field = watts(fwave[fsl], ffield[fsl] - tfield[fsl]) / true_w - 1
            field_level = float(np.sum(weights * (tfield[fsl] / continuum - 1)))
            table_corr = float(apcorr.at(np.array([centre]), np.array([3 * mrs.lambda_over_d(centre)]))[0])
            interp = table_corr / exact_apcorr(band, centre, target, sigma) - 1
            out(f"   {band}    {centre:5.2f}        {row['noise-free']:+7.3f} {row['flat']:+7.3f} {row['once']:+7.3f} "
                f"{100 * (total / true_w - 1):+7.3f} "
                f"{100 * level:+7.3f}  {100 * (total / true_w - 1 - level):+7.3f} ({100 * no_bkg:+7.3f})    "
                f"{100 * field:+7.3f} ({100 * field_level:+7.3f})    {100 * interp:+7.3f}      |  {row['noisy']:+7.3f}"
                f"    {row['sigma']:.3f} / {row['sigma_corr']:.3f}        "
                f"{(row['noisy'] - row['noise-free']) / row['sigma_corr']:+6.2f}")
    for band, sigmas in sigma_corr.items():
        p_line = [float(erf(0.1 / s_ / math.sqrt(2))) for s_ in sigmas]
        every = float(np.prod(p_line))
        # the median of five within 0.1 %: at least three lines within it
        median = sum(float(np.prod([p_line[i] if i in chosen else 1 - p_line[i] for i in range(len(p_line))]))
                     for n in range(3, len(p_line) + 1) for chosen in itertools.combinations(range(len(p_line)), n))
        out(f"   {band} noisy, a calibration without error and Gaussian noise of the fits' sigma+corr: each line "
            f"within 0.1 % with probability {min(p_line):.2f}-{max(p_line):.2f}, all five {every:.2f}, the median "
            f"{median:.2f}")
    out("   the line alone (x1d - twin; field: the whole cube's sum - twin's), the scorer's profile fitted to it: "
        "fit / sum - 1 (%), and the residual on the 7 planes about the centre (% of the sum)")
    for band, band_lines in mj.LINES_UM.items():
        wave, flux = results["noise-free"]["x1d"][band][:2]
        fwave, ffield = results["noise-free"]["field"][band]
        step = float(np.median(np.diff(wave)))
        for centre in band_lines:
            line = [r for r in table if abs(float(r["centre_um"]) - centre) < 1e-9][0]
            box = mrs_score.pixel_extent_um(wavelength_map, centre, step) / step
            sigma0 = math.sqrt(mrs_score.expected_sigma_planes(centre, float(line["fwhm_um"]), step) ** 2
                               - mrs_score.BOX_VARIANCE)
            cells = []
            for name, w, f, t in (("x1d", wave, flux, twin_x1d[band][1]),
                                  ("field", fwave, ffield, twin_field[band][1])):
                bias, residual = profile_alone(w, f - t, centre, box, sigma0)
                cells.append(f"{name} {100 * bias:+.3f}: " + " ".join(f"{100 * r:+.3f}" for r in residual))
            out(f"   {band} {centre:5.2f}  " + "   ".join(cells))
    twin_structure(folder, args.variant, out)
    print(write_result("mrs_line_flux_parts", "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
