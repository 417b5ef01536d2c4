//! Header lookup in whatever Python web frameworks hand a receiver:
//! `dict`, Starlette's `Headers`, Werkzeug's `EnvironHeaders`, Django's
//! `HttpHeaders`, any other mapping, or a list of `(name, value)` pairs
//! such as an ASGI scope's raw headers.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use titan_webhooks::http::HeaderName;
use titan_webhooks::{HeaderProblem, VerifyError};

use crate::errors::type_name;

/// What was found for one header name.
#[derive(Default)]
struct Slot {
    /// The first value.
    value: Option<String>,
    /// How many values there were.
    count: usize,
}

/// The values of `names` in `headers`, compared ignoring ASCII case, in
/// the order of `names`; `None` where a header is absent (or `None`).
///
/// # Errors
///
/// `TypeError` when `headers` is not a mapping or a list of pairs, or when
/// a wanted header's value is not `str` or `bytes`. The inner
/// `VerifyError` reports a header given more than once, as the core does
/// for an `http::HeaderMap`.
pub(crate) fn lookup(
    headers: &Bound<'_, PyAny>,
    names: &[&HeaderName],
) -> PyResult<Result<Vec<Option<String>>, VerifyError>> {
    let mut slots: Vec<Slot> = names.iter().map(|_| Slot::default()).collect();
    let mut visit = |key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>| -> PyResult<()> {
        let Some(index) = wanted(key, names) else {
            return Ok(());
        };
        match (slots.get_mut(index), names.get(index)) {
            (Some(slot), Some(name)) => add_values(slot, name, value),
            _ => Ok(()),
        }
    };

    if let Ok(dict) = headers.cast::<PyDict>() {
        for (key, value) in dict.iter() {
            visit(&key, &value)?;
        }
    } else if headers.is_instance_of::<PyList>() || headers.is_instance_of::<PyTuple>() {
        for item in headers.try_iter()? {
            let (key, value) = pair(&item?)?;
            visit(&key, &value)?;
        }
    } else if headers.hasattr("items")? {
        for item in headers.call_method0("items")?.try_iter()? {
            let (key, value) = pair(&item?)?;
            visit(&key, &value)?;
        }
    } else {
        return Err(PyTypeError::new_err(format!(
            "headers must be a mapping of header names to values (a dict, or the \
             request's headers object), or a list of (name, value) pairs, not {}",
            type_name(headers)
        )));
    }

    let mut values = Vec::with_capacity(names.len());
    for (slot, name) in slots.into_iter().zip(names) {
        if slot.count > 1 {
            return Ok(Err(VerifyError::MalformedHeader {
                name: name.as_str().to_owned(),
                problem: HeaderProblem::Repeated,
            }));
        }
        values.push(slot.value);
    }
    Ok(Ok(values))
}

fn pair<'py>(item: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    item.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "each header must be a (name, value) pair, not {}",
            type_name(item)
        ))
    })
}

/// Which of `names` (lowercase) `key` is, ignoring ASCII case. Keys that
/// are neither `str` nor `bytes` are no header this scheme reads.
fn wanted(key: &Bound<'_, PyAny>, names: &[&HeaderName]) -> Option<usize> {
    let position = |key: &[u8]| {
        names
            .iter()
            .position(|name| name.as_str().as_bytes().eq_ignore_ascii_case(key))
    };
    if let Ok(text) = key.cast::<PyString>() {
        // Most headers are not wanted; their length says so without
        // copying them out of Python.
        let len = text.len().ok()?;
        if !names.iter().any(|name| name.as_str().len() == len) {
            return None;
        }
        return position(text.to_cow().ok()?.as_bytes());
    }
    if let Ok(bytes) = key.cast::<PyBytes>() {
        return position(bytes.as_bytes());
    }
    None
}

/// Adds `value` to `slot`: a `str` or `bytes`, a list or tuple of them
/// (a multi-valued header), or `None` for none.
fn add_values(slot: &mut Slot, name: &HeaderName, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let text = if value.is_none() {
        return Ok(());
    } else if let Ok(text) = value.cast::<PyString>() {
        // A header value that is not text cannot be a valid signature; the
        // core then rejects it as malformed or as a mismatch.
        text.to_string_lossy().into_owned()
    } else if let Ok(bytes) = value.cast::<PyBytes>() {
        String::from_utf8_lossy(bytes.as_bytes()).into_owned()
    } else if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        for item in value.try_iter()? {
            let item = item?;
            if item.is_instance_of::<PyList>() || item.is_instance_of::<PyTuple>() {
                return Err(bad_value(name, &item));
            }
            add_values(slot, name, &item)?;
        }
        return Ok(());
    } else {
        return Err(bad_value(name, value));
    };
    slot.count = slot.count.saturating_add(1);
    if slot.value.is_none() {
        slot.value = Some(text);
    }
    Ok(())
}

fn bad_value(name: &HeaderName, value: &Bound<'_, PyAny>) -> PyErr {
    PyTypeError::new_err(format!(
        "header `{name}` must be str or bytes, not {}",
        type_name(value)
    ))
}
