"""The imager's cruciform: light scattered along detector rows and columns.

Model (params 4 "Cruciform", default 24; IFC ``add_curciform_to_webbpsfs.py``, fit by
M. Libralato): a 1-D kernel

    K(x) = a exp(-|x| s)  for |x| >= 3 px,   0 for |x| < 3 px  (absent from the core),

convolved along rows and along columns of the detector-sampled image, then renormalised
so the light is conserved:

    I' = (I + K_row * I + K_col * I) / (1 + 2 sum K).

IFC values: F560W A = 0.00773, s = 0.01895 /px; F770W A = 0.00877, s = 0.02493 /px.
IFC applies A to a PSF oversampled 4x and divides by oversample^2; at detector sampling
we take ``a = A / 16`` (our reading of that normalisation, DERIVED; the published fraction
of flux in the cross, G21, was not read: UNSOURCED).  The fraction of the light put in
the cross, ``2 sum K / (1 + 2 sum K)``, is then 8.8 % at F560W and 7.5 % at F770W
(:func:`cross_fraction`).  Longward of F770W the amplitude falls linearly with
wavelength to 0 at 12 um (an INTERPOLATION of "strong at <= 10 um, mostly gone by
~12 um"), with F770W's scale length; F1280W and longer have none.

Light scattered beyond the array edges is lost, as on the detector.  Cost: two FFT
convolutions of the frame (~0.1 s for FULL).
"""
import numpy as np
from scipy.signal import fftconvolve

from instrument import imager

#: IFC kernel parameters (amplitude at 4x oversampling, e-folding rate per detector pixel).
IFC_KERNELS = {"F560W": (0.00773, 0.01895), "F770W": (0.00877, 0.02493)}
#: IFC oversampling the amplitude refers to (its code divides by oversample**2). DERIVED reading.
IFC_OVERSAMPLE = 4
#: Central gap of the kernel, pixels (params 4: "zero for |x| < 3 px").
CORE_GAP_PIX = 3
#: Wavelength where the cross vanishes, um (params 4: "mostly gone by ~12 um").
CUTOFF_UM = 12.0
#: Kernel half-length in e-folding lengths (exp(-8) = 3e-4 of the peak is dropped).
KERNEL_EFOLDINGS = 8.0


def kernel_parameters(filter_name):
    """``(a, s)``: detector-sampled amplitude and e-folding rate (1/px) of the filter's kernel."""
    f = imager.imager_filter(filter_name)
    if f.name in IFC_KERNELS:
        amplitude, rate = IFC_KERNELS[f.name]
    else:
        a770, rate = IFC_KERNELS["F770W"]
        lam770 = imager.FILTERS["F770W"].wavelength_um
        amplitude = a770 * float(np.clip((CUTOFF_UM - f.wavelength_um) / (CUTOFF_UM - lam770), 0.0, 1.0))
    return amplitude / IFC_OVERSAMPLE**2, rate


def kernel(amplitude, rate, gap=CORE_GAP_PIX):
    """The 1-D kernel K(x) on integer offsets ``-h..h`` (zero inside the gap)."""
    half = int(np.ceil(KERNEL_EFOLDINGS / rate)) if rate > 0 else 0
    x = np.arange(-half, half + 1)
    return np.where(np.abs(x) >= gap, amplitude * np.exp(-np.abs(x) * rate), 0.0)


def cross_fraction(filter_name):
    """Fraction of a source's light that the cross carries."""
    k = kernel(*kernel_parameters(filter_name)).sum()
    return 2 * k / (1 + 2 * k)


def scatter(image, amplitude, rate, gap=CORE_GAP_PIX):
    """``(I + K_row * I + K_col * I) / (1 + 2 sum K)`` for a kernel ``(amplitude, rate)``."""
    if amplitude <= 0:
        return image
    k = kernel(amplitude, rate, gap)
    rows = fftconvolve(image, k[None, :], mode="same", axes=1)
    cols = fftconvolve(image, k[:, None], mode="same", axes=0)
    return (image + rows + cols) / (1 + 2 * k.sum())


def apply(image, filter_name):
    """The filter's cruciform applied to a detector-sampled illumination image."""
    return scatter(image, *kernel_parameters(filter_name))
