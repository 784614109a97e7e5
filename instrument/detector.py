"""The MIRI Si:As detectors (params section 1).

Values are the flight numbers of *params*; where the source is uncertain or missing
the constant says so, and the simulator and calibration treat it as a placeholder.
"""
from math import comb

import numpy as np

#: Detector names: the imager/LRS array and the two MRS arrays.
DETECTORS = ("MIRIMAGE", "MIRIFUSHORT", "MIRIFULONG")

#: Stored full-frame format, columns x rows (SIAF MIRIM_FULL XDetSize/YDetSize).
FULL_NX = 1032
FULL_NY = 1024

#: Reference columns at each side of the full frame (Ressler+2015; the 4+4 split is
#: RECALLED in params, consistent with the refpix step's left/right averaging).
REFERENCE_COLUMNS_LEFT = 4
REFERENCE_COLUMNS_RIGHT = 4

#: Pixel clock, one sample (emicorr.py "10us sample times per pixel"), seconds.
PIXEL_CLOCK_S = 10e-6

#: Outputs read in parallel; column i is read through output i mod 4 (emicorr.py).
N_OUTPUTS = 4

#: Flight gain, e-/DN (JDox "MIRI Detector Performance"; pre-flight pages give 5.5).
GAIN_E_PER_DN = 4.0

#: Read noise of one read, DN. params default 7: 6 DN rms per CDS pair, so
#: 6/sqrt(2) per read. UNCERTAIN: the source does not say whether 6 DN is CDS.
READ_NOISE_CDS_DN = 6.0
READ_NOISE_DN = READ_NOISE_CDS_DN / 2**0.5

#: Dark current, e-/s/pixel (JDox "MIRI Detector Performance", flight ~0.2).
DARK_CURRENT_E_PER_S = 0.2

#: Full well, e- (JDox "MIRI Detector Performance", flight ~210 000).
FULL_WELL_E = 210_000.0

#: ADC range of the raw data (16-bit unsigned samples).
ADC_MAX_DN = 65535

#: Bias level of the raw data, DN. UNSOURCED placeholder: raw MIRI frames sit at
#: some 10^4 DN, but no documented value was found.
BIAS_DN = 10_000.0

#: Pixel pitch, micron (JDox "MIRI Detector Overview").
PIXEL_PITCH_UM = 25.0


def linearity_coefficients(poly, bias):
    """The JWST LINEARITY coefficients of raw DN: ``B + h(x - B) = sum_m c_m x^m``.

    From the polynomial ``h(u) = sum_j p_j u^j`` of bias-subtracted signal and the
    pedestal ``B`` (per pixel or one value); shape ``(len(poly),) + shape(bias)``, float32.
    """
    bias = np.asarray(bias, np.float64)
    coeffs = np.zeros((len(poly),) + bias.shape)
    for j, pj in enumerate(poly):
        for m in range(j + 1):  # p_j (x - B)^j = sum_m C(j, m) x^m (-B)^(j-m)
            coeffs[m] += pj * comb(j, m) * (-bias) ** (j - m)
    coeffs[0] += bias
    return coeffs.astype(np.float32)
