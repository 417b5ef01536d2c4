//! The Python exceptions this module raises, and their messages.
//!
//! Verification failures are `titan_webhooks.WebhookVerificationError`,
//! defined in Python (`titan_webhooks/_errors.py`) so that it has a plain
//! `__init__(message, code)` on every Python version the abi3 wheel
//! serves. No message carries a secret, an expected signature or the body.

use pyo3::exceptions::{PyRecursionError, PyUnicodeDecodeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use titan_webhooks::VerifyError;

/// `titan_webhooks._errors.WebhookVerificationError`, imported once.
static VERIFICATION_ERROR: PyOnceLock<Py<pyo3::types::PyType>> = PyOnceLock::new();

/// The core's code for a body that does not parse, as
/// [`VerifyError::code`] gives it for `VerifyError::InvalidPayload`.
pub(crate) const INVALID_PAYLOAD: &str = "invalid_payload";

/// A `WebhookVerificationError` with `message` and the stable `code`.
fn verification_error(py: Python<'_>, message: String, code: &str) -> PyErr {
    let raised = VERIFICATION_ERROR
        .import(py, "titan_webhooks._errors", "WebhookVerificationError")
        .and_then(|class| class.call1((message, code)));
    match raised {
        Ok(instance) => PyErr::from_value(instance),
        // The package is installed whole, so this is a broken install.
        Err(err) => err,
    }
}

/// The Python exception for a delivery the core rejected: the core's
/// message, which names headers but never their values, and its code.
pub(crate) fn rejected(py: Python<'_>, err: &VerifyError) -> PyErr {
    verification_error(py, err.to_string(), err.code())
}

/// The Python exception for an authentic body that `json.loads` refused.
///
/// Python's own messages may quote the body (a `UnicodeDecodeError` shows
/// the offending byte), so only the kind of failure and, for JSON syntax,
/// its position are kept.
pub(crate) fn invalid_payload(py: Python<'_>, err: &PyErr) -> Option<PyErr> {
    let value = err.value(py);
    let message = if err.is_instance_of::<PyUnicodeDecodeError>(py) {
        "payload is not valid JSON: it is not UTF-8 text".to_owned()
    } else if err.is_instance_of::<PyRecursionError>(py) {
        "payload is not valid JSON that Python can parse: it nests too deeply".to_owned()
    } else if err.is_instance_of::<PyValueError>(py) {
        // json.JSONDecodeError: `msg` is the parser's own text ("Expecting
        // value", "Extra data"), without the document.
        let field = |name: &str| value.getattr(name).ok().map(|field| field.to_string());
        match (field("msg"), field("lineno"), field("colno")) {
            (Some(msg), Some(line), Some(column)) => {
                format!("payload is not valid JSON: {msg} at line {line} column {column}")
            }
            _ => "payload is not valid JSON".to_owned(),
        }
    } else {
        return None;
    };
    Some(verification_error(py, message, INVALID_PAYLOAD))
}

/// The name of `value`'s type, for messages that must not show the value.
pub(crate) fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map_or_else(|_| "an unknown type".to_owned(), |name| name.to_string())
}
