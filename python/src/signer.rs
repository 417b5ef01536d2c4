//! `Signer`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::args;
use crate::body::{Body, hash_body};

/// Signs bodies as a provider of one scheme does, for tests and for
/// senders.
///
/// ``scheme`` and ``secret`` are as for ``Verifier``, with one secret.
/// During a rotation, ``previous`` (the secret being replaced) also signs
/// every body whose timestamp is before ``previous_expires_at`` (unix
/// seconds or a ``datetime``), so receivers on either secret accept it.
/// Only schemes whose header holds several signatures (Eventium, Stripe,
/// Standard Webhooks) can do this; Titan, TitanX and GitHub sign with the
/// new secret alone.
///
/// >>> from titan_webhooks import Signer
/// >>> signer = Signer("standard_webhooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
/// >>> signer.sign(b'{"test": 2432232314}', id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=1614265330)
/// {'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=', 'webhook-timestamp': '1614265330', 'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek'}
/// >>> signer
/// Signer(scheme='standard_webhooks', rotating=False)
#[pyclass(frozen, module = "titan_webhooks", name = "Signer")]
pub(crate) struct Signer {
    inner: titan_webhooks::Signer,
    scheme: &'static str,
    rotating: bool,
}

#[pymethods]
impl Signer {
    #[new]
    #[pyo3(signature = (scheme, secret, *, previous = None, previous_expires_at = None))]
    fn new(
        scheme: &Bound<'_, PyAny>,
        secret: &Bound<'_, PyAny>,
        previous: Option<&Bound<'_, PyAny>>,
        previous_expires_at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let (scheme, name) = args::scheme(scheme)?;
        let encoding = scheme.secret_encoding();
        let secret = args::secret(encoding, secret)?;
        let mut inner = titan_webhooks::Signer::new(scheme, secret);
        match (previous, previous_expires_at) {
            (Some(previous), Some(expires_at)) => {
                let previous = args::secret(encoding, previous)?;
                let expires_at = args::unix_seconds("previous_expires_at", expires_at)?;
                let expires_at = UNIX_EPOCH
                    .checked_add(Duration::from_secs(expires_at))
                    .unwrap_or(UNIX_EPOCH);
                inner = inner.with_previous(previous, expires_at);
            }
            (None, None) => {}
            (Some(_), None) => {
                return Err(PyValueError::new_err(
                    "previous needs previous_expires_at: the end of the rotation's grace period",
                ));
            }
            (None, Some(_)) => {
                return Err(PyValueError::new_err(
                    "previous_expires_at needs previous: the secret being rotated out",
                ));
            }
        }
        let rotating = previous.is_some() && inner.supports_several_signatures();
        Ok(Self {
            inner,
            scheme: name,
            rotating,
        })
    }

    /// Signs ``body`` and returns the headers to send, as a ``dict`` of
    /// lowercase names to values.
    ///
    /// ``id`` is the message id for schemes that sign one (Standard
    /// Webhooks; a fresh ``msg_...`` by default; 1 to 256 visible ASCII
    /// characters without ``.``). ``timestamp`` is the signing time for
    /// schemes that sign one, as unix seconds or a ``datetime`` (now by
    /// default). Schemes without them ignore them.
    ///
    /// >>> from titan_webhooks import Signer
    /// >>> Signer("github", "It's a Secret to Everybody").sign(b"Hello, World!")
    /// {'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17'}
    /// >>> Signer("eventium", "key").sign("{}", timestamp=1700000000)
    /// {'x-titanvx-signature': 't=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae'}
    #[pyo3(signature = (body, *, id = None, timestamp = None))]
    fn sign<'py>(
        &self,
        py: Python<'py>,
        body: &Bound<'py, PyAny>,
        id: Option<String>,
        timestamp: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let body = Body::extract(body)?;
        let timestamp = match timestamp {
            Some(value) => args::unix_seconds("timestamp", value)?,
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_secs()),
        };
        let id = match id {
            Some(id) => id,
            None => random_id()?,
        };
        let inner = &self.inner;
        let bytes = body.as_bytes();
        let headers = hash_body(py, bytes.len(), || inner.sign_at(&id, timestamp, bytes))
            .map_err(|err| PyValueError::new_err(format!("invalid id: {err}")))?;
        let dict = PyDict::new(py);
        for (name, value) in &headers {
            // The core writes visible ASCII only.
            let value = String::from_utf8_lossy(value.as_bytes());
            dict.set_item(name.as_str(), value.as_ref())?;
        }
        Ok(dict)
    }

    /// The scheme's name, as given to the constructor.
    #[getter]
    fn scheme(&self) -> &'static str {
        self.scheme
    }

    fn __repr__(&self) -> String {
        format!(
            "Signer(scheme='{}', rotating={})",
            self.scheme,
            if self.rotating { "True" } else { "False" }
        )
    }
}

/// `msg_` and 128 random bits in URL-safe base64, as the core's own ids.
fn random_id() -> PyResult<String> {
    let mut bits = [0u8; 16];
    getrandom::fill(&mut bits)
        .map_err(|_| PyRuntimeError::new_err("the operating system's random source failed"))?;
    let mut id = String::from("msg_");
    URL_SAFE_NO_PAD.encode_string(bits, &mut id);
    Ok(id)
}
