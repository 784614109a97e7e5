"""The MRS spectral leak: band 1B's light in the grating's second order on band 3A's pixels (issue 17, params 33).

Model (the form jwst's ``spectral_leak`` step inverts, ``jwst/spectral_leak/spectral_leak.py``): a pixel of
band 3A at wavelength ``lambda`` also receives the light of wavelength ``lambda / 2`` with a transmission
``f``, in flux density

    F_nu,3A(lambda) += f(lambda) F_nu(lambda / 2),   f(lambda) = A exp(-(lambda - lambda_0)^2 / (2 sigma^2)),

``A = 0.03``, ``lambda_0 = 12.2 um``, ``sigma = 0.1 um`` (params 33, "Spectral leak": PLACEHOLDERS, shape and
amplitude invented until the CRDS MRSPTCORR LEAKCOR curve is sourced; :class:`simulator.config.MrsEffects`).
In photons per unit wavelength, ``N_leak(lambda) = f(lambda) N(lambda / 2) / 2`` (``N = F_nu / (h lambda)``),
so a bin ``[a, b]`` of 3A holds ``int_{a/2}^{b/2} f(2 mu) N(mu) d mu``: :meth:`LeakSpectrum.photons_in_bins`
takes ``f`` at the bin's middle (the bins are a tenth of an LSF FWHM, ~4e-4 um, against ``sigma`` = 0.1 um: a
relative error ~1e-6).  An emission line at ``c`` of ``sigma_l`` leaks as a line at ``2 c`` of ``2 sigma_l``
with ``f(2 c)`` of its photons; absorption lines go through the continuum's exact bins, at half their depth's
wavelength scale.  3A's pixels then spread that light with 3A's LSF (the second order's own resolution, ~2x
the first's, is not modelled: the LSF is 3A's at ``lambda``, a SIMPLIFICATION that matters for lines only).

Spatially the leak is ~6 um light: its PSF is the 6 um one (half 3A's width), sliced by 3A's slices and
sampled by 3A's pixels (:func:`simulator.mrs.render_source` with ``grating_order=2``: each PSF node at ``lambda / 2``
on 3A's grid).  The uniform sky leaks as ``f(lambda)`` times its surface brightness at ``lambda / 2`` (band
1B's).  Every pixel's leak goes through 3A's photon conversion and throughput decay as its own light does
(:mod:`simulator.mrs`: the calibration's PHOTOM of 3A then reads it as ``f F_nu(lambda / 2)``).
"""
from dataclasses import dataclass

import numpy as np

#: The band whose pixels get the leak and the band whose wavelengths leak (second order: lambda / 2).
LEAK_BAND, SOURCE_BAND = "3A", "1B"
#: The grating order of the leak.
ORDER = 2


@dataclass(frozen=True)
class LeakCurve:
    """``f(lambda) = peak exp(-(lambda - centre)^2 / (2 sigma^2))`` (module docstring; PLACEHOLDER values)."""

    peak: float
    centre_um: float
    sigma_um: float

    @classmethod
    def from_effects(cls, mrs_effects):
        """The curve of a :class:`simulator.config.MrsEffects`."""
        return cls(mrs_effects.leak_peak, mrs_effects.leak_centre_um, mrs_effects.leak_sigma_um)

    def __call__(self, wavelength_um):
        """``f`` at ``wavelength_um``."""
        return self.peak * np.exp(-0.5 * ((np.asarray(wavelength_um, float) - self.centre_um) / self.sigma_um) ** 2)


@dataclass(frozen=True)
class LeakLine:
    """An emission line as it leaks: what :func:`simulator.mrs.pixel_photons` needs of a line."""

    centre_um: float
    sigma_um: float
    photons: float


@dataclass(frozen=True)
class LeakSpectrum:
    """The leak of ``source`` (a :class:`simulator.spectra.SourceSpectrum`) through ``curve`` (module docstring).

    Quacks as a SourceSpectrum for :func:`simulator.mrs.pixel_photons`: ``smooth()``, ``photons_in_bins``
    and ``emission``.
    """

    source: object
    curve: LeakCurve

    def smooth(self):
        """The leak of the source's continuum with its absorption lines."""
        return LeakSpectrum(self.source.smooth(), self.curve)

    @property
    def emission(self):
        """The source's emission lines at twice their wavelength, ``f(2 c)`` of their photons."""
        return tuple(LeakLine(ORDER * line.centre_um, ORDER * line.sigma_um,
                              float(self.curve(ORDER * line.centre_um)) * line.photons)
                     for line in self.source.emission)

    def photons_in_bins(self, edges_um):
        """Photons s^-1 m^-2 in each bin ``[edges[k], edges[k + 1])`` of 3A: ``f(middle)`` x the source's in half."""
        edges = np.asarray(edges_um, float)
        return self.curve(0.5 * (edges[:-1] + edges[1:])) * self.source.photons_in_bins(edges / ORDER)

    def flux_density_mjy(self, wavelength_um):
        """``f(lambda) F_nu(lambda / 2)``, mJy (unresolved lines excluded, as the source's)."""
        lam = np.asarray(wavelength_um, float)
        return self.curve(lam) * self.source.flux_density_mjy(lam / ORDER)

