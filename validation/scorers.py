"""Scorers registered by product type: what the runner scores a cell's products with.

Every product the pipeline makes has a *product type* (:data:`PRODUCT_TYPES`, from its
file suffix, as JWST names products), and each type has its scorers (:data:`SCORERS`).
A scorer takes the exposure's :class:`simulator.truth.Truth`, its product and the
products of the types it also reads (``companions``), and returns metric rows in the
long form of :mod:`validation.runner` (``dict(metric, value, unit[, bin, source_id,
true_flux_mjy, snr])``); it declares the metrics it writes, so the report knows which
product types a results table holds (:func:`product_types`) and draws their sections
(:data:`validation.report.SECTIONS`).  A new mode adds its product types, scorers and
sections here and in the report, and touches none of the imager's.

The imager's: the rate image (pulls, :func:`validation.score.score_rate`), the source
catalog (:func:`validation.score.score_catalog`), the per-integration rates with the
ramp (:func:`validation.detector_score.score_detector`) and the EMI step's correction,
an in-memory product the step hands over as it runs
(:func:`validation.emi_score.score_emi`).  The LRS's: the extracted spectrum
(``x1d``, line centres against the true lines, :func:`validation.lrs_score.score_x1d`;
dropouts against the true continuum, :func:`validation.lrs_dropouts.score_dropouts`;
the flux against the true F_nu, :func:`validation.lrs_flux.score_flux`).
The LRS time series': the transit product with its white light (depth pulls, scatter over
the information limit, :func:`validation.lrs_tso_score.score_transit`).  The MRS's: the
x1d (a spectrum per band: line centres and, in Jy, the flux, :func:`validation.mrs_score.score_x1d`; the fringe
left, :func:`validation.mrs_fringe_score.score_x1d`)
and the cubes (each band's centroid and the band-to-band offset,
:func:`validation.mrs_score.score_cubes`; an extended source's surface brightness,
:func:`validation.mrs_extended_score.score_cubes`) and, when the straylight step ran, the cross-artifact
it subtracted (``xart``, against the truth's, its noise floor from the rate's ERR,
:func:`validation.xart_score.score_xart`); the x1d's
bands before ``spectral_leak`` and ``residual_fringe`` (``preleak``, ``prerf``) are read by the report's
views (:mod:`validation.mrs_views`), not scored; the x1d of the same exposure without the leak (a product the
runner makes for a band-3A cell paired with its band-1B one, :func:`validation.runner.leak_free_twin`) scores the
leak the x1d keeps (:func:`validation.mrs_leak_score.score_against_twin`).  Spectra per
integration have their type and no
scorer yet.

A product type can be made by several modes (the LRS's and the MRS's x1d): a scorer
declares the modes whose products it reads (``Scorer.modes``, the truth's ``mode``), and
:func:`score_products` runs only those of the exposure's mode.
"""
from dataclasses import dataclass

from . import (
    detector_score,
    emi_score,
    lrs_dropouts,
    lrs_flux,
    lrs_score,
    mrs_extended_score,
    mrs_fringe_score,
    mrs_leak_score,
    mrs_score,
    score,
    xart_score,
)
from .lrs_tso_score import METRICS as TSO_METRICS
from .lrs_tso_score import score_transit

CATALOG = "catalog"
RATE = "rate"
RATEINTS = "rateints"
RAMP = "ramp"
CAL = "cal"
SPECTRUM1D = "spectrum1d"
SPECTRA_PER_INTEGRATION = "spectra_per_integration"
CUBE = "cube"
EMI_CORRECTION = "emi_correction"
WHITE_LIGHT = "white_light"
TRANSIT = "transit"
XART = "xart"
#: The MRS x1d's bands before ``spectral_leak`` / ``residual_fringe`` (:mod:`calibration.mrs_spec2`): views only.
BEFORE_LEAK, BEFORE_RESIDUAL_FRINGE = "spectrum1d_before_leak", "spectrum1d_before_residual_fringe"
#: The x1d of the same exposure simulated without the spectral leak (:func:`validation.runner.leak_free_twin`).
LEAK_FREE = "spectrum1d_leak_free"

#: File suffix of a pipeline product -> its product type.
PRODUCT_TYPES = {"cat": CATALOG, "rate": RATE, "rateints": RATEINTS, "ramp": RAMP, "cal": CAL, "x1d": SPECTRUM1D,
                 "x1dints": SPECTRA_PER_INTEGRATION, "s3d": CUBE,
                 "whtlt": WHITE_LIGHT, "transit": TRANSIT, "xart": XART, "preleak": BEFORE_LEAK,
                 "prerf": BEFORE_RESIDUAL_FRINGE}


@dataclass(frozen=True)
class Scorer:
    """A scorer of one product type.

    Parameters
    ----------
    score : callable
        ``score(truth, product, *companions) -> list of row dicts``.
    metrics : tuple of str
        Every metric it can write.
    companions : tuple of str
        Product types it reads besides its own, passed in this order.
    modes : tuple of str, optional
        The observing modes (the truth's ``mode``) whose products it scores; None: any.
    """

    score: object
    metrics: tuple
    companions: tuple = ()
    modes: tuple = None

    def scores(self, mode):
        """Whether it scores an exposure of ``mode``."""
        return self.modes is None or mode in self.modes


LRS_MODES = ("lrs_slit", "lrs_slitless")
#: What the LRS's x1d scorers write.
LRS_X1D_METRICS = lrs_score.METRICS + lrs_dropouts.METRICS + lrs_flux.METRICS


#: Product type -> its scorers, in the order they run.
SCORERS = {
    RATE: (Scorer(score.score_rate, score.RATE_METRICS),),
    CATALOG: (Scorer(score.score_catalog, score.CATALOG_METRICS),),
    RATEINTS: (Scorer(detector_score.score_detector, detector_score.METRICS, companions=(RAMP,)),),
    EMI_CORRECTION: (Scorer(emi_score.score_emi, emi_score.METRICS),),
    RAMP: (),
    CAL: (),
    SPECTRUM1D: (Scorer(lrs_score.score_x1d, lrs_score.METRICS, modes=LRS_MODES),
                 Scorer(lrs_dropouts.score_dropouts, lrs_dropouts.METRICS, modes=LRS_MODES),
                 Scorer(lrs_flux.score_flux, lrs_flux.METRICS, modes=LRS_MODES),
                 Scorer(mrs_score.score_x1d, mrs_score.X1D_METRICS, modes=("mrs",)),
                 Scorer(mrs_fringe_score.score_x1d, mrs_fringe_score.METRICS, modes=("mrs",))),
    SPECTRA_PER_INTEGRATION: (),
    CUBE: (Scorer(mrs_score.score_cubes, mrs_score.CUBE_METRICS, modes=("mrs",)),
           Scorer(mrs_extended_score.score_cubes, mrs_extended_score.METRICS, modes=("mrs",)),
           Scorer(mrs_leak_score.score_cubes, mrs_leak_score.CUBE_METRICS, modes=("mrs",))),
    WHITE_LIGHT: (),
    TRANSIT: (Scorer(score_transit, TSO_METRICS, companions=(WHITE_LIGHT,)),),
    XART: (Scorer(xart_score.score_xart, xart_score.METRICS, companions=(RATE,), modes=("mrs",)),),
    BEFORE_LEAK: (),
    BEFORE_RESIDUAL_FRINGE: (),
    LEAK_FREE: (Scorer(mrs_leak_score.score_against_twin, mrs_leak_score.TWIN_METRICS, companions=(SPECTRUM1D,),
                       modes=("mrs",)),),
}


def by_type(products):
    """The pipeline's products keyed by product type.

    Parameters
    ----------
    products : dict
        ``{file suffix: product}`` as :func:`calibration.pipeline.calibrate` returns them.

    Returns
    -------
    dict
        ``{product type: product}``.

    Raises
    ------
    ValueError
        A suffix with no product type in :data:`PRODUCT_TYPES`.
    """
    unknown = sorted(set(products) - set(PRODUCT_TYPES))
    if unknown:
        raise ValueError(f"product suffix(es) {', '.join(unknown)} have no product type in "
                         f"validation.scorers.PRODUCT_TYPES")
    return {PRODUCT_TYPES[suffix]: product for suffix, product in products.items()}


def score_products(truth, products):
    """Score every product with the scorers of its type.

    Parameters
    ----------
    truth : simulator.truth.Truth or path-like
        The exposure's truth.
    products : dict
        ``{product type: product}`` (a path, or the product itself for an in-memory one).

    Returns
    -------
    list of dict
        The rows of every scorer of the exposure's mode (:attr:`Scorer.modes`), in :data:`SCORERS` order.

    Raises
    ------
    ValueError
        A product type with no entry in :data:`SCORERS`, or a scorer's companion missing.
    """
    unknown = sorted(set(products) - set(SCORERS))
    if unknown:
        raise ValueError(f"product type(s) {', '.join(unknown)} are not registered in validation.scorers.SCORERS")
    rows, mode = [], None
    for kind, scorers in SCORERS.items():
        if kind not in products:
            continue
        if mode is None and any(s.modes for s in scorers):  # read the truth once, only when a scorer asks
            truth = score.as_truth(truth)
            mode = truth.config.get("mode", "imager")
        for scorer in (s for s in scorers if s.scores(mode)):
            missing = [c for c in scorer.companions if c not in products]
            if missing:
                raise ValueError(f"the {kind} scorer {scorer.score.__name__} also needs: {', '.join(missing)}")
            rows += scorer.score(truth, products[kind], *(products[c] for c in scorer.companions))
    return rows


def product_types(metrics):
    """The product types whose scorers wrote rows of a results table.

    Parameters
    ----------
    metrics : pandas.DataFrame
        A long-form results table (its ``metric`` column).

    Returns
    -------
    set of str
    """
    present = set(metrics["metric"].unique())
    return {kind for kind, scorers in SCORERS.items() for s in scorers if present & set(s.metrics)}
