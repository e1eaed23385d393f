//! Extended-precision reals for the Remez algorithm (dashu's binary `FBig`).

use dashu_float::{round::mode::HalfEven, FBig};

/// A binary floating-point number of [`PRECISION_BITS`] significant bits.
pub(crate) type Real = FBig<HalfEven, 2>;

/// Significant bits of every [`Real`] the Remez algorithm makes: enough for intervals as narrow
/// as `2^-150` around 1 (late composite stages) with coefficients still exact to `2^-100`.
pub(crate) const PRECISION_BITS: usize = 256;

/// `x` (finite) as a [`Real`], exactly.
pub(crate) fn real(x: f64) -> Real {
    debug_assert!(x.is_finite());
    Real::try_from(x)
        .expect("finite f64 converts exactly")
        .with_precision(PRECISION_BITS)
        .value()
}

/// The integer `k` as a [`Real`].
pub(crate) fn real_int(k: i64) -> Real {
    Real::from(k).with_precision(PRECISION_BITS).value()
}

/// Nearest `f64`.
pub(crate) fn to_f64(x: &Real) -> f64 {
    x.to_f64().value()
}

/// `|x|`.
pub(crate) fn abs(x: &Real) -> Real {
    if *x < Real::ZERO {
        -x.clone()
    } else {
        x.clone()
    }
}
