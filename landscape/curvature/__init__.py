"""Curvature of a network's loss: exact Hessian-vector products, top eigenvalues, sharpness
against optimizers' stability thresholds (1-D interpolation between weights: landscape.slice).

hessian: H·v forward-over-reverse over a whole data set in bounded memory; lanczos: the top
eigenpairs of a symmetric operator; sharpness: λmax(H) and λmax(P^-1/2 H P^-1/2); stability:
thresholds (2/η, (2+2β)/η, ...) and adaptive optimizers' preconditioners.
"""

from landscape.curvature.hessian import Hessian, summed_cross_entropy
from landscape.curvature.lanczos import Eigenpairs, top_eigenpairs
from landscape.curvature.sharpness import sharpness
from landscape.curvature.stability import Threshold, preconditioner, threshold

__all__ = [
    "Eigenpairs",
    "Hessian",
    "Threshold",
    "preconditioner",
    "sharpness",
    "summed_cross_entropy",
    "threshold",
    "top_eigenpairs",
]
