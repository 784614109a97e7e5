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

#: Inter-pixel capacitance (IPC) couplings: the fraction of a pixel's signal each row
#: neighbour (x +- 1) reads (alpha), each column neighbour (y +- 1) reads (beta), and each
#: diagonal neighbour reads (corner).  stpsf ``constants.INSTRUMENT_IPC_DEFAULT_KERNEL_PARAMETERS
#: ['MIRI'] = (0.033, 0.024, 0.013)``, "based on JWST-STScI-002925 by Mike Engesser" (a
#: technical report not read here), applied by stpsf ``detectors.py`` to detector-sampled
#: PSFs as ``[[c, beta, c], [alpha, 1 - 2 alpha - 2 beta - 4 c, alpha], [c, beta, c]]``.
#: UNCERTAIN: second-hand (the report's own numbers and errors were not seen); stpsf calls
#: the corner term a "real observation noise adjustment", a fitted term rather than a
#: measured coupling; which axis is alpha is taken as stpsf lays the array out; one kernel
#: for all three detectors and every signal level.  No measured MIRI kernel is in CRDS:
#: the MIRI IPC rmap shipped with crds 14.0.3 selects no file, the CRDS test files
#: ``jwst_miri_ipc_0003.add.fits`` / ``_0004.fits`` are PEDIGREE DUMMY identity kernels,
#: and the jwst IPC step is off for MIRI (jwst issue 9896: validation ongoing).
IPC_ALPHA, IPC_BETA, IPC_CORNER = 0.033, 0.024, 0.013

#: The IPC kernel ``K[dy + 1, dx + 1]``: signal Q collected in pixel (y, x) reads as
#: ``Q K[dy + 1, dx + 1]`` in pixel (y + dy, x + dx); it sums to 1 (the centre keeps 0.834).
IPC_KERNEL = np.array([[IPC_CORNER, IPC_BETA, IPC_CORNER],
                       [IPC_ALPHA, 1 - 2 * IPC_ALPHA - 2 * IPC_BETA - 4 * IPC_CORNER, IPC_ALPHA],
                       [IPC_CORNER, IPC_BETA, IPC_CORNER]])


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
