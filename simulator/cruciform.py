"""The imager's cruciform: light scattered along detector rows and columns.

Model (params 4 "Cruciform", default 24): the documented kernel of
:mod:`instrument.optics` (IFC ``add_curciform_to_webbpsfs.py``, fit by M. Libralato;
its detector-sampled amplitude a = A / 16 is a DERIVED reading, the fading to 0 at
12 um an INTERPOLATION),

    K(x) = a exp(-|x| s)  for |x| >= 3 px,   0 for |x| < 3 px  (absent from the core),

convolved along rows and along columns of the detector-sampled image, then renormalised
so the light is conserved:

    I' = (I + K_row * I + K_col * I) / (1 + 2 sum K).

The fraction of the light put in the cross, ``2 sum K / (1 + 2 sum K)``, is then 8.8 %
at F560W and 7.5 % at F770W (:func:`cross_fraction`); F1280W and longer have none.

Light scattered beyond the array edges is lost, as on the detector.  Cost: two FFT
convolutions of the frame (~0.1 s for FULL).
"""
import numpy as np
from scipy.signal import fftconvolve

from miri_testbed.instrument import optics

#: Central gap of the kernel, pixels (instrument.optics, params 4).
CORE_GAP_PIX = optics.CORE_GAP_PIX
#: Kernel half-length in e-folding lengths (exp(-8) = 3e-4 of the peak is dropped).
KERNEL_EFOLDINGS = 8.0


#: ``(a, s)`` of a filter's kernel: the truth is the documented kernel (instrument.optics).
kernel_parameters = optics.cruciform_kernel


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
