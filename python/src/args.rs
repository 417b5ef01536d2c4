//! Arguments from Python: scheme names, secrets, tolerances and times.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyInt, PyList, PyString, PyTuple, PyType};
use titan_webhooks::{Scheme, Secret, SecretEncoding, SecretError};
use zeroize::Zeroizing;

use crate::errors::type_name;

/// The schemes by the names Python callers give them, in the order the
/// README lists them.
pub(crate) const SCHEME_NAMES: [&str; 6] = [
    "titan",
    "titanx",
    "eventium",
    "github",
    "stripe",
    "standard_webhooks",
];

/// The preset named `name`, and the name as `SCHEME_NAMES` spells it.
/// `standard-webhooks`, the core's own spelling, is accepted too.
///
/// # Errors
///
/// `ValueError` naming the schemes there are.
pub(crate) fn scheme(value: &Bound<'_, PyAny>) -> PyResult<(Scheme, &'static str)> {
    let Ok(text) = value.cast::<PyString>() else {
        return Err(PyTypeError::new_err(format!(
            "scheme must be str, not {}",
            type_name(value)
        )));
    };
    let name = text.to_string_lossy();
    let scheme = match name.as_ref() {
        "titan" => (Scheme::titan(), "titan"),
        "titanx" => (Scheme::titanx(), "titanx"),
        "eventium" => (Scheme::eventium(), "eventium"),
        "github" => (Scheme::github(), "github"),
        "stripe" => (Scheme::stripe(), "stripe"),
        "standard_webhooks" | "standard-webhooks" => {
            (Scheme::standard_webhooks(), "standard_webhooks")
        }
        _ => {
            let shown: String = name.chars().take(40).collect();
            return Err(PyValueError::new_err(format!(
                "unknown scheme '{}'; expected one of: {}",
                shown.escape_debug(),
                SCHEME_NAMES.join(", ")
            )));
        }
    };
    Ok(scheme)
}

/// A secret as `encoding` reads a `str`; `bytes` are the key itself, as
/// the `standardwebhooks` and `svix` packages take them.
///
/// # Errors
///
/// `TypeError` for anything but `str`, `bytes` and `bytearray`;
/// `ValueError` for an empty secret, or one `encoding` refuses. Neither
/// message shows the secret.
pub(crate) fn secret(encoding: SecretEncoding, value: &Bound<'_, PyAny>) -> PyResult<Secret> {
    let parsed = if let Ok(text) = value.cast::<PyString>() {
        let text = Zeroizing::new(
            text.to_cow()
                .map_err(|_| {
                    PyValueError::new_err(
                        "invalid secret: it is a str with no UTF-8 encoding (a lone surrogate)",
                    )
                })?
                .into_owned(),
        );
        encoding.parse(&text)
    } else if let Ok(bytes) = value.cast::<PyBytes>() {
        Secret::from_bytes(bytes.as_bytes())
    } else if let Ok(array) = value.cast::<PyByteArray>() {
        Secret::from_bytes(Zeroizing::new(array.to_vec()).as_slice())
    } else {
        return Err(PyTypeError::new_err(format!(
            "secret must be str or bytes, not {}",
            type_name(value)
        )));
    };
    parsed.map_err(|err| invalid_secret(encoding, &err))
}

fn invalid_secret(encoding: SecretEncoding, err: &SecretError) -> PyErr {
    let hint = if matches!(encoding, SecretEncoding::Whsec) && *err != SecretError::Empty {
        "; this scheme takes the `whsec_<base64>` text the sender shows, \
         or the decoded key as bytes"
    } else {
        ""
    };
    PyValueError::new_err(format!("invalid secret: {err}{hint}"))
}

/// One secret, or a list or tuple of them for rotation, in order.
///
/// # Errors
///
/// As [`secret`], and `ValueError` for an empty list.
pub(crate) fn secrets(encoding: SecretEncoding, value: &Bound<'_, PyAny>) -> PyResult<Vec<Secret>> {
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let parsed = value
            .try_iter()?
            .map(|item| secret(encoding, &item?))
            .collect::<PyResult<Vec<_>>>()?;
        if parsed.is_empty() {
            return Err(PyValueError::new_err("at least one secret is needed"));
        }
        return Ok(parsed);
    }
    if value.is_instance_of::<PyString>()
        || value.is_instance_of::<PyBytes>()
        || value.is_instance_of::<PyByteArray>()
    {
        return Ok(vec![secret(encoding, value)?]);
    }
    Err(PyTypeError::new_err(format!(
        "secret must be str or bytes, or a list of them for rotation, not {}",
        type_name(value)
    )))
}

static TIMEDELTA: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// A tolerance: whole seconds as an `int`, or a `datetime.timedelta`
/// (fractions of a second dropped, as the core does). An `int` too large
/// for 64 bits means "any".
///
/// # Errors
///
/// `TypeError` for other types (`bool` and `float` included), `ValueError`
/// for a negative value.
pub(crate) fn seconds(name: &str, value: &Bound<'_, PyAny>) -> PyResult<u64> {
    let py = value.py();
    if value.is_instance_of::<PyInt>() && !value.is_instance_of::<PyBool>() {
        return non_negative(name, value);
    }
    if value.is_instance(TIMEDELTA.import(py, "datetime", "timedelta")?)? {
        let days: i64 = value.getattr("days")?.extract()?;
        let seconds: i64 = value.getattr("seconds")?.extract()?;
        let total = i128::from(days)
            .saturating_mul(86_400)
            .saturating_add(i128::from(seconds));
        if total < 0 {
            return Err(PyValueError::new_err(format!(
                "{name} must not be negative, got {total} s"
            )));
        }
        return Ok(u64::try_from(total).unwrap_or(u64::MAX));
    }
    Err(PyTypeError::new_err(format!(
        "{name} must be an int number of seconds or a datetime.timedelta, not {}",
        type_name(value)
    )))
}

/// A point in time as unix seconds: an `int`, or a `datetime.datetime`
/// (a naive one is local time, as `datetime.timestamp` reads it).
///
/// # Errors
///
/// `TypeError` for other types, `ValueError` for a time before 1970.
pub(crate) fn unix_seconds(name: &str, value: &Bound<'_, PyAny>) -> PyResult<u64> {
    let py = value.py();
    if value.is_instance_of::<PyInt>() && !value.is_instance_of::<PyBool>() {
        return non_negative(name, value);
    }
    if value.is_instance(DATETIME.import(py, "datetime", "datetime")?)? {
        let floored = value.call_method0("timestamp")?.call_method0("__floor__")?;
        return non_negative(name, &floored);
    }
    Err(PyTypeError::new_err(format!(
        "{name} must be an int of unix seconds or a datetime.datetime, not {}",
        type_name(value)
    )))
}

/// A Python `int` as a `u64`, saturating above.
fn non_negative(name: &str, value: &Bound<'_, PyAny>) -> PyResult<u64> {
    if let Ok(seconds) = value.extract::<u64>() {
        return Ok(seconds);
    }
    if value.lt(0)? {
        return Err(PyValueError::new_err(format!(
            "{name} must not be negative, got {value}"
        )));
    }
    Ok(u64::MAX)
}
