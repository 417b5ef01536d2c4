//! Bodies as Python receivers hold them: `bytes`, or a `str`, `bytearray`
//! or `memoryview`.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::marker::Ungil;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyMemoryView, PyString};

use crate::GIL_RELEASE_MIN_BODY;
use crate::errors::type_name;

/// A body as bytes, read in place where that is safe with the GIL released.
pub(crate) enum Body<'py> {
    /// An immutable `bytes` object, held so it outlives the borrow: read in
    /// place, with or without the GIL. A `str` is encoded into one, and a
    /// `memoryview` copied into one.
    Bytes(Bound<'py, PyBytes>),
    /// A copy of a `bytearray`, which another thread could resize while
    /// the GIL is released.
    Copied(Vec<u8>),
}

impl<'py> Body<'py> {
    /// Reads `value` as a body.
    ///
    /// # Errors
    ///
    /// `TypeError` for anything but `bytes`, `bytearray`, `memoryview` and
    /// `str`; `ValueError` for a `str` that has no UTF-8 encoding (a lone
    /// surrogate).
    pub(crate) fn extract(value: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(bytes) = value.cast::<PyBytes>() {
            return Ok(Self::Bytes(bytes.clone()));
        }
        if value.is_instance_of::<PyString>() {
            let encoded = value.call_method1("encode", ("utf-8",)).map_err(|_| {
                PyValueError::new_err(
                    "body is a str with no UTF-8 encoding (it has a lone surrogate): \
                     pass the raw body bytes instead",
                )
            })?;
            return Ok(Self::Bytes(encoded.cast_into::<PyBytes>()?));
        }
        if let Ok(array) = value.cast::<PyByteArray>() {
            return Ok(Self::Copied(array.to_vec()));
        }
        if value.is_instance_of::<PyMemoryView>() {
            let copy = value.call_method0("tobytes")?;
            return Ok(Self::Bytes(copy.cast_into::<PyBytes>()?));
        }
        Err(PyTypeError::new_err(format!(
            "body must be bytes or str (the raw request body), not {}",
            type_name(value)
        )))
    }

    /// The body's bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Bytes(bytes) => bytes.as_bytes(),
            Self::Copied(bytes) => bytes,
        }
    }

    /// The body as a Python `bytes` object, for `json.loads`.
    pub(crate) fn to_object(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        match self {
            Self::Bytes(bytes) => bytes.clone().into_any(),
            Self::Copied(bytes) => PyBytes::new(py, bytes).into_any(),
        }
    }
}

/// Runs `work`, which hashes a body of `len` bytes, with the GIL released
/// when the body is large enough for other threads to gain from it.
pub(crate) fn hash_body<T, F>(py: Python<'_>, len: usize, work: F) -> T
where
    F: Ungil + FnOnce() -> T,
    T: Ungil,
{
    if len >= GIL_RELEASE_MIN_BODY {
        py.detach(work)
    } else {
        work()
    }
}
