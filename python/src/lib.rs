//! The `titan_webhooks._native` Python extension module: Python bindings
//! for the verification core of the `titan-webhooks` crate.
//!
//! Everything here is a thin layer over [`titan_webhooks::Verifier`] and
//! [`titan_webhooks::Signer`]: it turns Python arguments into the core's
//! types, releases the GIL while a large body is hashed, and turns the
//! core's errors into Python exceptions. The package `titan_webhooks`
//! (in `python/titan_webhooks/`) re-exports it with its stubs.
//!
//! The doc comments of the items exported to Python are their Python
//! docstrings, with doctest examples that `tests/test_docs.py` runs.

#![forbid(unsafe_code)]
// The docstrings hold Python doctests (`>>> ...` followed by the expected
// output), which Markdown reads as block quotes with lazy continuations.
#![allow(clippy::doc_lazy_continuation)]

mod args;
mod body;
mod errors;
mod headers;
mod signer;
mod verifier;

use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// Bodies from this length on are hashed with the GIL released, as
/// `hashlib` does (its `HASHLIB_GIL_MINSIZE`). Below it, releasing and
/// taking back the GIL costs more than the hashing it would let run
/// beside other threads.
pub(crate) const GIL_RELEASE_MIN_BODY: usize = 2048;

/// Verify and sign webhooks with the titan-webhooks Rust core.
///
/// The package `titan_webhooks` re-exports everything here; import from it.
#[pymodule(name = "_native")]
fn titan_webhooks_native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(verifier::verify_signature, module)?)?;
    module.add_class::<verifier::Verifier>()?;
    module.add_class::<verifier::Verified>()?;
    module.add_class::<signer::Signer>()?;
    module.add(
        "DEFAULT_TOLERANCE",
        titan_webhooks::DEFAULT_TOLERANCE.as_secs(),
    )?;
    module.add("SCHEMES", PyTuple::new(module.py(), args::SCHEME_NAMES)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
