"""Why jwst's line fluxes are 1-1.7 % off on the foreign set: its annulus background's sigma clipping (issue 16).

On the foreign 4-point set of :mod:`benchmarks.mrs_jwst` jwst's cubes hold the lines' light as ours do (the same
aperture on either cube gives the same line fluxes within 0.35 %: a scratch check, session 20), yet its x1d's lines
come out 1-1.7 % high where the continuum is right.  jwst's ``extract_1d`` for an IFU point source takes the
annulus's background as a sigma-clipped sum (``bkg_sigma_clip``, default 3): in a continuum plane the annulus is
mostly noise, nothing of the PSF's wings is clipped; in a bright line's planes (the lines are ~20x the continuum at
their peak) the wings' structure stands above the noise and its brightest spaxels are clipped, so less background
is subtracted there and the line gains.  This benchmark runs jwst's ``extract_1d`` again on jwst's own cubes of a
``mrs_jwst.py --workdir DIR`` run, with the default clipping and with none, and scores both with the benchmark's
scorer (line fluxes median / worst |%|, continuum %), beside ours on the same set.

    python benchmarks/mrs_jwst.py --workdir DIR          (first: the set and both sides' cubes, ~5 min)
    python benchmarks/mrs_jwst_bkg_clip.py --workdir DIR [--record]   (~1 min)
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mrs_jwst as mj  # noqa: E402

from imager_common import transcript, write_result  # noqa: E402

#: jwst's default ``bkg_sigma_clip`` and "none" (a clip no spaxel reaches).
CLIPS = (3.0, 1e6)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", required=True, help="the folder of a `mrs_jwst.py --workdir DIR` run")
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/<date>_mrs_jwst_bkg_clip.txt")
    args = parser.parse_args(argv)
    from stdatamodels.jwst import datamodels as dm

    from miri_testbed.calibration import jwst_mrs

    folder = Path(args.workdir)
    cubes = [folder / "set" / "jwst" / f"jwst_{band}_s3d.fits" for band in mj.LINES_UM]
    ours = folder / "set" / "ours" / "ours_x1d.fits"
    missing = [str(p) for p in (*cubes, ours) if not p.exists()]
    if missing:
        parser.error(f"{', '.join(missing)} not found: run `python benchmarks/mrs_jwst.py --workdir {folder}` first")
    mj.quiet()
    out, lines = transcript()
    sims = mj.simulate_foreign(folder / "sim")  # the run's own files (made again only if absent)
    step_um, geometry = mj.our_spectral_steps(sims[0])
    references = jwst_mrs.JwstMrsReferences(**mj.jwst_references(sims[0], geometry, step_um, folder))
    out(f"The foreign 4-point set of {folder} (benchmarks/mrs_jwst.py), scored against the truth by mrs_jwst.score;")
    out("jwst's extract_1d run again on jwst's own cubes with its annulus background clipped at bkg_sigma_clip sigma:")
    out("   side                                  band  continuum %  line flux median / worst %  (fits' 1 sigma %)")

    def row(name, x1d_path):
        for band, figures in mj.score(sims[0]["truth"], x1d_path).items():
            out(f"   {name:37s} {band}    {figures['continuum']:+7.3f}       {figures['line_median']:6.3f} / "
                f"{figures['line_worst']:6.3f}           ({figures['line_sigma']:.3f})")

    row("ours (drizzle, annulus)", ours)
    for clip in CLIPS:
        models = [dm.open(str(path)) for path in cubes]
        x1d = mj.as_band_x1d([jwst_mrs.extract_1d(cube, references, bkg_sigma_clip=clip) for cube in models], models)
        path = folder / "set" / "jwst" / f"jwst_x1d_bkg_sigma_clip_{clip:g}.fits"
        x1d.save(str(path))
        row(f"jwst, bkg_sigma_clip {clip:g}" + (" (its default)" if clip == 3.0 else " (none)"), path)
    if args.record:
        print(write_result("mrs_jwst_bkg_clip", "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
