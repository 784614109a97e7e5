"""The imager's optics as documented: the cruciform kernel and the throughput decay.

Facts and the arithmetic that follows from them (params 4 "Cruciform" and
"Time-dependent throughput", defaults 24-26).  The simulator's forward models
(:mod:`simulator.cruciform`, :mod:`simulator.throughput`) take their truth from here;
the calibration's nominal reference folder (:mod:`calibration.nominal`) writes the same
facts into its CRUCIFORM and PHOTOM files, as a documented reference would carry them.

Cruciform (IFC ``add_curciform_to_webbpsfs.py``, fit by M. Libralato): a 1-D kernel

    K(x) = a exp(-|x| s)  for |x| >= 3 px,   0 for |x| < 3 px,

convolved along rows and columns, the image then renormalised by ``1 + 2 sum K``.
IFC: F560W A = 0.00773, s = 0.01895 /px; F770W A = 0.00877, s = 0.02493 /px, with A
applied to a PSF oversampled 4x and divided by oversample^2; at detector sampling
``a = A / 16`` (our reading of that normalisation, DERIVED; the published fraction of
flux in the cross, G21, was not read: UNSOURCED).  Longward of F770W the amplitude
falls linearly with wavelength to 0 at 12 um, with F770W's scale length (an
INTERPOLATION of "strong at <= 10 um, mostly gone by ~12 um", params 4 and default 24).

Throughput decay (jwst ``photom/time_dependence.py``; IFC ``create_photom_reffile.py``):
the relative throughput at MJD t is

    T(t) = A exp(-(t - t0) / tau) + C,   A + C = 1,   tau = 200 d (G25, IFC),

t0 = MJD 59720 (APPROXIMATE: the IFC code's start day before per-filter fits).  The
amplitude follows from the loss after one year, ``L = 1 - T(t0 + 365)``:
``A = L / (1 - exp(-365 / tau))``.  L is 0.21 at F2550W (STScI news 2023-09-29, G25)
and falls LINEARLY in wavelength to 0 at F560W: an INTERPOLATION (default 26), not
sourced; the flight per-filter A and C are in CRDS PHOTOM (an open item of params).
"""
import math

from . import imager

#: IFC kernel parameters (amplitude at 4x oversampling, e-folding rate per detector pixel).
IFC_KERNELS = {"F560W": (0.00773, 0.01895), "F770W": (0.00877, 0.02493)}
#: IFC oversampling the amplitude refers to (its code divides by oversample**2). DERIVED reading.
IFC_OVERSAMPLE = 4
#: Central gap of the kernel, pixels (params 4: "zero for |x| < 3 px").
CORE_GAP_PIX = 3
#: Wavelength where the cross vanishes, um (params 4: "mostly gone by ~12 um").
CUTOFF_UM = 12.0

#: Start of the decay, MJD (APPROXIMATE, params 4: IFC code's MJD 59720 = 2022-05-21).
T0_MJD = 59720.0
#: E-folding time, days (params 4: ~200, held fixed in the IFC fit).
TAU_DAYS = 200.0
#: Loss after one year at F2550W (params 4: "F2550W lost ~21 % over the first year").
LOSS_ONE_YEAR_F2550W = 0.21


def cruciform_kernel(filter_name):
    """Detector-sampled cruciform kernel ``K(x) = a exp(-|x| s)`` of an imager filter.

    F560W and F770W take the IFC fit (``add_curciform_to_webbpsfs.py``, M. Libralato),
    ``a = A / IFC_OVERSAMPLE**2`` (DERIVED reading); longer filters take F770W's rate and
    an amplitude falling linearly to 0 at :data:`CUTOFF_UM` (an INTERPOLATION, params 4).

    Parameters
    ----------
    filter_name : str
        Imager filter, e.g. ``"F560W"``.

    Returns
    -------
    amplitude : float
        ``a``, dimensionless kernel weight per pixel (0 from 12 um on).
    rate : float
        ``s``, e-folding rate, 1/pixel.
    """
    f = imager.imager_filter(filter_name)
    if f.name in IFC_KERNELS:
        amplitude, rate = IFC_KERNELS[f.name]
    else:
        a770, rate = IFC_KERNELS["F770W"]
        lam770 = imager.FILTERS["F770W"].wavelength_um
        amplitude = a770 * min(max((CUTOFF_UM - f.wavelength_um) / (CUTOFF_UM - lam770), 0.0), 1.0)
    return amplitude / IFC_OVERSAMPLE**2, rate


def loss_after_one_year(filter_name):
    """Fractional throughput loss of an imager filter one year after :data:`T0_MJD`.

    Linear in wavelength from 0 at F560W to :data:`LOSS_ONE_YEAR_F2550W` (0.21, STScI news
    2023-09-29, G25) at F2550W: an INTERPOLATION, not sourced.

    Parameters
    ----------
    filter_name : str
        Imager filter, e.g. ``"F1500W"``.

    Returns
    -------
    float
        ``L = 1 - T(t0 + 365 d)``, dimensionless, in [0, 0.21].
    """
    lo, hi = imager.FILTERS["F560W"].wavelength_um, imager.FILTERS["F2550W"].wavelength_um
    lam = imager.imager_filter(filter_name).wavelength_um
    return LOSS_ONE_YEAR_F2550W * min(max((lam - lo) / (hi - lo), 0.0), 1.0)


def decay_exponential(filter_name):
    """Documented throughput decay ``T(t) = A exp(-(t - t0)/tau) + C`` of an imager filter.

    ``A = L / (1 - exp(-365/tau))`` with L = :func:`loss_after_one_year` and
    ``C = 1 - A`` (jwst ``photom/time_dependence.py``; IFC ``create_photom_reffile.py``).

    Parameters
    ----------
    filter_name : str
        Imager filter, e.g. ``"F2550W"``.

    Returns
    -------
    t0 : float
        Start of the decay, MJD (:data:`T0_MJD`, APPROXIMATE).
    amplitude : float
        ``A``, dimensionless.
    tau : float
        E-folding time, days (:data:`TAU_DAYS`).
    constant : float
        ``C = 1 - A``, dimensionless.
    """
    amplitude = loss_after_one_year(filter_name) / (1.0 - math.exp(-365.0 / TAU_DAYS))
    return T0_MJD, amplitude, TAU_DAYS, 1.0 - amplitude
